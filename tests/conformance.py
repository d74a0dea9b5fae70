#!/usr/bin/env python3
"""conformance - shadowmilter's replay findings against an independent
extraction (Python's csv module) of every real ShadowServer sample in
../shared/reference/shadowserver (csv/ and eml/), read in place.

The independent rules follow ShadowServer's schema: the host is ip, else
src_ip, else http_referer_ip (dst_ip in *_ddos_target reports); the port is
that host's port column (an ip without port takes src_port); the transport is
protocol, else the catalogue's; a finding is (host, port, transport) with the
earliest time. Every customer owns everything (0.0.0.0/0, ::/0), so every
finding must appear in a notice.

usage: conformance.py SHADOWMILTER SHARED CATALOGUE TMPDIR
Prints one line per file and "N of M sample files agree fully"; exits 1 on
any difference."""
import csv, email, email.policy, io, json, subprocess, sys, zipfile, os, datetime
sm, shared, catalogue, tmp = sys.argv[1:5]
with open(os.path.join(tmp, 'conformance-map.csv'), 'w') as f:
    f.write('prefix,account,email\n0.0.0.0/0,everyone,ops@example.net\n::/0,everyone,ops@example.net\n')
conf = os.path.join(tmp, 'conformance.conf')
with open(conf, 'w') as f:
    # what is compared is the CSV extraction: the mails carry a verifier's pass
    # (VerifyDKIM no) rather than a signature; the DKIM checks are tested elsewhere
    f.write(f"CustomerMap {os.path.join(tmp, 'conformance-map.csv')}\nTrustedAuthservIDs mx.test.example\n"
            "VerifyDKIM no\n"
            "Organization Example\nNoticeFrom abuse@example.net\nSupportAddress abuse@example.net\n")
cat = {r['type']: r for r in csv.DictReader(open(catalogue))}
def transport(t):
    r = cat.get(t)
    while r and r.get('alias_of'):
        r = cat.get(r['alias_of'])
    p = (r or {}).get('protocol', '').lower()
    return '' if '/' in p else p
def expected(t, text):
    rows = list(csv.reader(io.StringIO(text)))
    hdr = [h.strip().lower() for h in rows[0]]
    col = lambda n: hdr.index(n) if n in hdr else -1
    if t.endswith('_ddos_target'): pairs = [('dst_ip', 'dst_port')]
    else: pairs = [(a, p) for a, p in [('ip', 'port'), ('src_ip', 'src_port'), ('http_referer_ip', 'http_referer_port')] if col(a) >= 0]
    if not pairs: return {}
    a, p = pairs[0]
    if a == 'ip' and col('port') < 0 and col('src_port') >= 0: p = 'src_port'
    out = {}
    for r in rows[1:]:
        if not any(x.strip() for x in r): continue
        r = r + [''] * (len(hdr) - len(r))
        ip = r[col(a)]
        port = r[col(p)] if col(p) >= 0 and r[col(p)] != '' else None
        proto = (r[col('protocol')] if col('protocol') >= 0 else '').lower() or transport(t)
        ts = r[col('timestamp')].replace(' ', 'T') + 'Z'
        k = (ip, int(port) if port else None, proto)
        out[k] = min(out.get(k, ts), ts)
    return out
def mail_for_csv(name, data):
    m = email.message.EmailMessage()
    m['Authentication-Results'] = 'mx.test.example; dkim=pass header.d=shadowserver.org header.s=mail'
    m['From'] = 'Shadowserver <autoreports@shadowserver.org>'
    t = name.split('-')[1] if not name[:10].count('-') == 2 else name.split('-')[3]
    m['Subject'] = f'[Test] Shadowserver {t} Report: 2022-01-01'
    m['Message-ID'] = f'<{name}@test>'
    m.set_content('report')
    # a sample whose name is not ShadowServer's <date>-<type>-<list>.csv gets
    # one: an unsigned Subject (VerifyDKIM no here) never types a file
    fname = name if name[:10].count('-') == 2 else f'2022-01-01-{t}-test.csv'
    m.add_attachment(data.encode(), maintype='text', subtype='csv', filename=fname)
    return m.as_bytes(), t
total = agree = nfind = nmis = 0
for d in ('csv', 'eml'):
    for f in sorted(os.listdir(os.path.join(shared, d))):
        path = os.path.join(shared, d, f)
        if d == 'csv':
            raw, t = mail_for_csv(f, open(path, encoding='utf-8', errors='replace').read())
            csvtext = open(path, encoding='utf-8', errors='replace').read()
        else:
            msg = email.message_from_bytes(open(path, 'rb').read(), policy=email.policy.default)
            for part in msg.walk():
                if part.get_filename():
                    z = zipfile.ZipFile(io.BytesIO(part.get_payload(decode=True)))
                    n = z.namelist()[0]; csvtext = z.read(n).decode('utf-8', 'replace')
                    t = n.split('-')[3]
            raw = b'Authentication-Results: mx.test.example; dkim=pass header.d=shadowserver.org header.s=mail\n' + open(path, 'rb').read()
        res = subprocess.run([sm, 'replay', '-c', conf, '--json', '-'], input=raw, capture_output=True)
        j = json.loads(res.stdout.decode().splitlines()[0])
        got = {}
        for rep in j['reports']:
            for n in rep['notices']:
                for x in n['findings']:
                    got[(x['ip'], x['port'], x['protocol'])] = x['timestamp']
        want = expected(t, csvtext)
        total += 1; nfind += len(want)
        miss = {k: v for k, v in want.items() if got.get(k) != v}
        extra = set(got) - set(want)
        nmis += len(miss) + len(extra)
        ok = not miss and not extra
        agree += ok
        print(f"{'ok  ' if ok else 'DIFF'} {d}/{f} ({t}): {len(want)} findings" + ('' if ok else f", {len(miss)} missing/different, {len(extra)} extra: {list(miss)[:2]} {list(extra)[:2]}"))
print(f"{agree} of {total} sample files agree fully; {nfind} findings expected, {nmis} differ")
sys.exit(0 if agree == total and total > 0 else 1)
