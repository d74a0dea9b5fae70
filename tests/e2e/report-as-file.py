#!/usr/bin/env python3
"""report-as-file.py IN OUT TAG - the report mail IN with its file made a file of its own.

One report file is applied once, whatever mail carries it (README, "One
identity per report file"): a suite that sends the demo report again as a NEW
report gives it a file of its own. Every "<date>-<type>-<list>.csv" name - the
zip attachment's name and the names of its members - becomes
"<date>-<type>-<list>-TAG.csv". The zip is rewritten, the rest of the mail is
left byte for byte as it was (sign it afterwards).
"""
import base64, io, re, sys, zipfile

NAME = re.compile(r'(\d{4}-\d{2}-\d{2}-[^-"/]+-[^"/]+?)\.csv')

def renamed_zip(data, tag):
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for zi in src.infolist():
            new = zipfile.ZipInfo(NAME.sub(r"\1-%s.csv" % tag, zi.filename), zi.date_time)
            new.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(new, src.read(zi))
    return out.getvalue()

def main():
    src, dst, tag = sys.argv[1:4]
    tag = re.sub(r"[^A-Za-z0-9_]", "_", tag)
    text = open(src, newline="").read()
    eol = "\r\n" if "\r\n" in text else "\n"
    # the base64 body of a zip part: after its headers' blank line, up to the next blank line
    part = re.compile(r'(Content-Type: application/zip;[^\n]*\n(?:[^\n]+\n)*?\r?\n)([A-Za-z0-9+/=\r\n]+?)(\r?\n\r?\n|\r?\n--)')

    def rezip(m):
        data = renamed_zip(base64.b64decode(m.group(2)), tag)
        b64 = base64.encodebytes(data).decode().replace("\n", eol).rstrip(eol)
        return m.group(1) + b64 + m.group(3)
    text = part.sub(rezip, text)
    text = NAME.sub(lambda m: "%s-%s.csv" % (m.group(1), tag), text)
    open(dst, "w", newline="").write(text)

main()
