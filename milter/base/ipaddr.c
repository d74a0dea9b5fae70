/*
 * ipaddr - IPv4/IPv6 addresses and prefixes as plain 16-byte values
 *
 * See ipaddr.h.
 */
#include "base/ipaddr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int
ipaddr_parse(const char *s, struct ipaddr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (strchr(s, ':') != NULL) {
		addr->family = AF_INET6;
		return inet_pton(AF_INET6, s, addr->bytes) == 1 ? 0 : -1;
	}
	addr->family = AF_INET;
	return inet_pton(AF_INET, s, addr->bytes) == 1 ? 0 : -1;
}

static int
parse_prefix_length(const char *s, unsigned max, unsigned *plen)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9' || strlen(s) > 3)
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max)
		return -1;
	*plen = (unsigned)v;
	return 0;
}

static int
host_bits_are_zero(const struct ipaddr *addr, unsigned plen)
{
	unsigned i;

	for (i = plen; i < ipaddr_bits(addr); i++)
		if (ipaddr_bit(addr, i))
			return 0;
	return 1;
}

int
ipaddr_parse_prefix(const char *s, struct ipaddr *addr, unsigned *plen)
{
	char tmp[IPADDR_STRLEN + 5];
	char *slash;
	size_t n = strlen(s);

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n + 1);
	slash = strchr(tmp, '/');
	if (slash)
		*slash++ = '\0';
	if (ipaddr_parse(tmp, addr) != 0)
		return -1;
	if (slash == NULL) {
		*plen = ipaddr_bits(addr);
		return 0;
	}
	if (parse_prefix_length(slash, ipaddr_bits(addr), plen) != 0)
		return -1;
	return host_bits_are_zero(addr, *plen) ? 0 : -1;
}

unsigned
ipaddr_bits(const struct ipaddr *addr)
{
	return addr->family == AF_INET6 ? 128 : 32;
}

int
ipaddr_bit(const struct ipaddr *addr, unsigned i)
{
	return (addr->bytes[i >> 3] >> (7 - (i & 7))) & 1;
}

void
ipaddr_format(const struct ipaddr *addr, char *out, size_t outlen)
{
	if (inet_ntop(addr->family, addr->bytes, out, (socklen_t)outlen) == NULL && outlen)
		out[0] = '\0';
}

int
ipaddr_compare(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16);
}
