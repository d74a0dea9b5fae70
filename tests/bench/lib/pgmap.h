/*
 * pgmap - the benchmarks' million-prefix CustomerMap table in PostgreSQL
 *
 * pgmap_fill makes the table bench_map (prefix cidr, account text, email
 * text) by COPY: row I is an IPv4 /24 from 16.0.0.0 up, or, every fifth row
 * (I % 5 == 4), an IPv6 /64 under 2001:db8::/32; its account is
 * acct<I % 500000>, its email noc@acct<I % 500000>.example. pgmap_host
 * names an address inside row I's prefix, so a bench can say whose it is.
 * Used by bench_mapsource and bench_refreshload.
 */
#ifndef SM_BENCH_PGMAP_H
#define SM_BENCH_PGMAP_H

#define PGMAP_QUERY "SELECT prefix, account, email FROM bench_map"
#define PGMAP_ACCOUNTS 500000

/* pgmap_fill - COUNT rows into bench_map (made anew) at URI; 0, or -1 said on stderr */
int pgmap_fill(const char *uri, long count);

/* pgmap_host - host HOST (1-255) of row I's prefix, as inet_ntop writes it, in OUT (>= 46 bytes) */
void pgmap_host(long i, int host, char *out, unsigned long outlen);

#endif
