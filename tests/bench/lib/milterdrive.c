/*
 * milterdrive - the MTA's side of the milter protocol, for the benchmarks
 *
 * See milterdrive.h. Packets are a 4-byte length (network order), a command
 * byte and the data; the filter's replies the same. Modification requests
 * ('h', 'm', '+', '-', 'i', 'p', 'e') come before the verdict at EOM.
 *
 * Owns: nothing beyond the connection it is given.
 */
#include "milterdrive.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SMFIP_NOUNKNOWN_FLAG 0x100
#define SMFIP_NODATA_FLAG 0x200
#define SMFIP_SKIP_FLAG 0x400
#define CHUNK 65535

struct reply {
	char cmd;
	char data[1024];
	uint32_t len;	/* of the whole reply; DATA holds at most sizeof(data) of it */
};

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
write_full(int fd, const void *buf, size_t len)
{
	size_t put = 0;
	ssize_t n;

	while (put < len) {
		if ((n = write(fd, (const char *)buf + put, len - put)) <= 0)
			die("milterdrive: write");
		put += (size_t)n;
	}
}

static void
send_packet(int fd, char cmd, const void *data, uint32_t len)
{
	uint32_t n = htonl(len + 1);
	char hdr[5];

	memcpy(hdr, &n, 4);
	hdr[4] = cmd;
	write_full(fd, hdr, 5);
	if (len)
		write_full(fd, data, len);
}

static void
read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = read(fd, (char *)buf + got, len - got)) <= 0)
			die("milterdrive: read (the filter closed the connection?)");
		got += (size_t)n;
	}
}

static void
read_reply(int fd, struct reply *r)
{
	uint32_t n, left, take;
	char skip[4096];

	read_full(fd, &n, 4);
	if ((n = ntohl(n)) == 0 || n > 64 * 1024 * 1024)
		die("milterdrive: bad reply length");
	read_full(fd, &r->cmd, 1);
	r->len = n - 1;
	take = r->len < sizeof(r->data) ? r->len : sizeof(r->data);
	read_full(fd, r->data, take);
	for (left = r->len - take; left > 0; left -= take) {
		take = left > sizeof(skip) ? sizeof(skip) : left;
		read_full(fd, skip, take);
	}
}

/* keep_added - an 'h' reply (name NUL value NUL) as "name: value\n" */
static void
keep_added(struct md_conn *c, const struct reply *r)
{
	size_t namelen = strnlen(r->data, r->len), room = sizeof(c->added) - c->added_len;
	const char *value = r->data + namelen + 1;
	int n;

	if (namelen >= r->len || r->len > sizeof(r->data))
		return;
	n = snprintf(c->added + c->added_len, room, "%s: %.*s\n", r->data,
	    (int)strnlen(value, r->len - namelen - 1), value);
	if (n > 0 && (size_t)n < room)
		c->added_len += (size_t)n;
}

/* verdict - skip modification requests (keeping added headers) up to the verdict */
static char
verdict(struct md_conn *c)
{
	struct reply r;

	for (;;) {
		read_reply(c->fd, &r);
		if (r.cmd == 'h')
			keep_added(c, &r);
		else if (strchr("m+-ipe", r.cmd) == NULL)
			return r.cmd;
	}
}

static char
command(struct md_conn *c, char cmd, const void *data, uint32_t len)
{
	send_packet(c->fd, cmd, data, len);
	return verdict(c);
}

static char
header(struct md_conn *c, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	char *buf = malloc(namelen + valuelen + 2);
	char v;

	if (buf == NULL)
		die("malloc");
	memcpy(buf, name, namelen);
	buf[namelen] = '\0';
	memcpy(buf + namelen + 1, value, valuelen);
	buf[namelen + 1 + valuelen] = '\0';
	v = command(c, 'L', buf, (uint32_t)(namelen + valuelen + 2));
	free(buf);
	return v;
}

/* macro - the macro NAME=VALUE for the command stage STAGE (no reply) */
static void
macro(struct md_conn *c, char stage, const char *name, const char *value)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%c%s%c%s", stage, name, 0, value);

	if (n < 0 || (size_t)n >= sizeof(buf))
		die("milterdrive: macro too long");
	send_packet(c->fd, 'D', buf, (uint32_t)n + 1);
}

static int
connect_filter(const char *path)
{
	struct sockaddr_un sun;
	int fd, tries;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (tries = 0; tries < 600; tries++) {	/* up to 30 s: a loaded machine, ASan */
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		close(fd);
		usleep(50000);
	}
	die(path);
	return -1;
}

void
md_open(struct md_conn *c, const char *path)
{
	uint32_t opt[3] = { htonl(6), htonl(0x1ff), htonl(SMFIP_SKIP_FLAG | SMFIP_NOUNKNOWN_FLAG | SMFIP_NODATA_FLAG) };
	char conn[] = "client.example\0" "4\0\0" "192.0.2.1";
	struct reply r;

	memset(c, 0, sizeof(*c));
	c->fd = connect_filter(path);
	send_packet(c->fd, 'O', opt, sizeof(opt));
	read_reply(c->fd, &r);
	if (r.cmd != 'O')
		die("milterdrive: negotiate");
	conn[17] = 25;	/* port, network order: 0x0019 */
	command(c, 'C', conn, sizeof(conn));
	command(c, 'H', "client.example", 15);
}

void
md_close(struct md_conn *c)
{
	send_packet(c->fd, 'Q', NULL, 0);
	close(c->fd);
	c->fd = -1;
}

/* body - LEN bytes in chunks; the verdict ('c' after a SKIP: the MTA goes on to EOM) */
static char
body(struct md_conn *c, const char *p, size_t len)
{
	char v = 'c';
	size_t i;

	for (i = 0; i < len; i += CHUNK) {
		v = command(c, 'B', p + i, (uint32_t)(len - i < CHUNK ? len - i : CHUNK));
		if (v == 's')
			return 'c';
		if (v != 'c')
			return v;
	}
	return v;
}

/* finish - EOH, the body, EOM: the verdict */
static char
finish(struct md_conn *c, const char *qid, const char *p, size_t len)
{
	char v;

	if ((v = command(c, 'N', NULL, 0)) != 'c' || (v = body(c, p, len)) != 'c')
		return v;
	if (qid)
		macro(c, 'E', "i", qid);
	c->added_len = 0;
	c->added[0] = '\0';
	return command(c, 'E', NULL, 0);
}

/* envelope - MAIL and RCPT: 'c', or the verdict that ended the message */
static char
envelope(struct md_conn *c, const char *qid, const char *from, const char *rcpt)
{
	char v;

	if (qid)
		macro(c, 'M', "i", qid);
	if ((v = command(c, 'M', from, (uint32_t)strlen(from) + 1)) != 'c')
		return v;
	return command(c, 'R', rcpt, (uint32_t)strlen(rcpt) + 1);
}

char
md_ordinary(struct md_conn *c, const char *p, size_t len)
{
	static const char *names[20] = { "Received", "Received", "Received", "DKIM-Signature", "Date", "From",
	    "To", "Subject", "Message-ID", "MIME-Version", "Content-Type", "X-Mailer", "List-Id", "X-A", "X-B",
	    "X-C", "X-D", "X-E", "X-F", "X-G" };
	const char *value;
	size_t i;
	char v;

	if ((v = envelope(c, NULL, "<alice@example.org>", "<bob@example.net>")) != 'c')
		return v;
	for (i = 0; i < 20; i++) {
		value = !strcmp(names[i], "From") ? "Alice <alice@example.org>" :
		    "from mx.example.org by mx.example.net with ESMTPS id 4F2xYz1abc; Wed, 25 Nov 2026 10:00:00 +0000";
		if ((v = header(c, names[i], strlen(names[i]), value, strlen(value))) != 'c')
			return v;
	}
	return finish(c, NULL, p, len);
}

/* unfold - the header lines of HEAD (LEN bytes) with folds made one space; caller frees */
static char *
unfold(const char *head, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	size_t i, n = 0;

	if (out == NULL)
		die("malloc");
	for (i = 0; i < len; i++) {
		if (head[i] == '\r')
			continue;
		if (head[i] == '\n' && i + 1 < len && (head[i + 1] == ' ' || head[i + 1] == '\t')) {
			out[n++] = ' ';
			while (i + 1 < len && (head[i + 1] == ' ' || head[i + 1] == '\t'))
				i++;
			continue;
		}
		out[n++] = head[i];
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/* headers - each "Name: value" line of HEAD to the filter; 'c' or the verdict that ended the message */
static char
headers(struct md_conn *c, const char *head, size_t len)
{
	size_t n;
	char *h = unfold(head, len, &n), *line, *next, *colon, *value, v = 'c';

	for (line = h; v == 'c' && line < h + n; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : h + n;
		if ((colon = memchr(line, ':', (size_t)(next - line))) == NULL)
			continue;
		for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
			;
		v = header(c, line, (size_t)(colon - line), value, (size_t)(next - value) - (next[-1] == '\n'));
	}
	free(h);
	return v;
}

char
md_eml(struct md_conn *c, const char *qid, const char *from, const char *rcpt, const char *msg, size_t len)
{
	const char *end = strstr(msg, "\n\n"), *crlf = strstr(msg, "\r\n\r\n"), *b;
	char v;

	if (crlf && (end == NULL || crlf < end)) {
		end = crlf + 2;
		b = crlf + 4;
	} else if (end) {
		end = end + 1;
		b = end + 1;
	} else
		die("milterdrive: a mail without a blank line after its headers");
	if ((v = envelope(c, qid, from, rcpt)) != 'c' || (v = headers(c, msg, (size_t)(end - msg))) != 'c')
		return v;
	return finish(c, qid, b, len - (size_t)(b - msg));
}

int
md_added(const struct md_conn *c, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	const char *p, *eol;

	for (p = c->added; *p; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			break;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
			snprintf(out, outlen, "%.*s", (int)(eol - p - n - 2), p + n + 2);
			return 0;
		}
	}
	return -1;
}

void
md_filler_body(char *p, size_t len)
{
	size_t i;

	memset(p, 'x', len);
	for (i = 76; i + 1 < len; i += 78) {
		p[i] = '\r';
		p[i + 1] = '\n';
	}
}
