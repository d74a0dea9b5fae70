/*
 * fakesmtp - an SMTP server on loopback for the delivery tests
 *
 * See fakesmtp.h.
 */
#include "fakesmtp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define CLIENT_WAIT_MS 10000

int
fakesmtp_flag(const int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_SEQ_CST);
}

static void
set_flag(int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
}

/* line - one command line (CRLF stripped); 0 at EOF */
static int
line(int fd, char *buf, size_t max)
{
	size_t n = 0;
	char c;

	while (read(fd, &c, 1) == 1) {
		if (c == '\n') {
			if (n && buf[n - 1] == '\r')
				n--;
			buf[n] = '\0';
			return 1;
		}
		if (n + 1 < max)
			buf[n++] = c;
	}
	return 0;
}

static void
say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return;
}

static void *
serve(void *arg)
{
	struct fakesmtp *f = arg;
	struct pollfd p = { f->listener, POLLIN, 0 };
	struct timeval tv = { CLIENT_WAIT_MS / 1000, 0 };
	char buf[1024], reply[256];
	int fd, in_data = 0;

	if (poll(&p, 1, CLIENT_WAIT_MS) != 1 || (fd = accept(f->listener, NULL, NULL)) < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	say(fd, "220 fake ESMTP\r\n");
	while (line(fd, buf, sizeof(buf))) {
		if (in_data) {
			if (strcmp(buf, ".") == 0) {
				in_data = 0;
				set_flag(&f->dot_seen);
				if (f->on_dot)
					f->on_dot(f);
				snprintf(reply, sizeof(reply), "%s\r\n", f->dot_reply ? f->dot_reply : "250 2.0.0 queued");
				set_flag(&f->dot_answered);	/* before the write: the client may act on it at once */
				say(fd, reply);
			}
			continue;
		}
		if (strncasecmp(buf, "QUIT", 4) == 0) {
			set_flag(&f->quit_seen);
			say(fd, "221 bye\r\n");
			break;
		}
		if (strncasecmp(buf, "DATA", 4) == 0) {
			if (f->on_data)
				f->on_data(f);
			in_data = 1;
			say(fd, "354 go on\r\n");
		} else if (strncasecmp(buf, "EHLO", 4) == 0)
			say(fd, "250-fake\r\n250 8BITMIME\r\n");
		else
			say(fd, "250 ok\r\n");
	}
	close(fd);
	return NULL;
}

int
fakesmtp_start(struct fakesmtp *f)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((f->listener = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (bind(f->listener, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(f->listener, 1) != 0 ||
	    getsockname(f->listener, (struct sockaddr *)&sin, &len) != 0 ||
	    pthread_create(&f->thread, NULL, serve, f) != 0) {
		close(f->listener);
		return -1;
	}
	f->port = ntohs(sin.sin_port);
	return 0;
}

void
fakesmtp_transport(const struct fakesmtp *f, char *out, size_t outlen)
{
	snprintf(out, outlen, "smtp:127.0.0.1:%d", f->port);
}

void
fakesmtp_finish(struct fakesmtp *f)
{
	pthread_join(f->thread, NULL);
	close(f->listener);
}
