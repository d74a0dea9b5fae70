/*
 * ipaddr - IPv4/IPv6 addresses and prefixes as plain 16-byte values
 *
 * IPv4 addresses are kept in the first four bytes (not IPv4-mapped) with
 * family AF_INET, so the prefix trie can keep one tree per family. Parsing is
 * strict: what inet_pton rejects, we reject.
 *
 * Owns: nothing.
 */
#ifndef SM_IPADDR_H
#define SM_IPADDR_H

#include <stddef.h>
#include <stdint.h>

#define IPADDR_STRLEN 46	/* INET6_ADDRSTRLEN */

struct ipaddr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

/* ipaddr_parse - strict address parse; 0 on success, -1 on garbage */
int ipaddr_parse(const char *s, struct ipaddr *addr);

/* ipaddr_parse_prefix - "addr" or "addr/len"; host bits must be zero */
int ipaddr_parse_prefix(const char *s, struct ipaddr *addr, unsigned *plen);

/* ipaddr_bits - 32 or 128 */
unsigned ipaddr_bits(const struct ipaddr *addr);

/* ipaddr_bit - bit I (0 = most significant) of the address */
int ipaddr_bit(const struct ipaddr *addr, unsigned i);

/* ipaddr_format - canonical text form into OUT (IPADDR_STRLEN bytes) */
void ipaddr_format(const struct ipaddr *addr, char *out, size_t outlen);

/* ipaddr_compare - total order: IPv4 before IPv6, then numeric */
int ipaddr_compare(const struct ipaddr *a, const struct ipaddr *b);

#endif
