/*
 * hostcols - which columns of a ShadowServer report name our host, its port
 * and its transport
 *
 * ShadowServer's own schema (report_schema's reports.json) names the host a
 * row is about in one of a few ways, by family of report:
 *
 *   scan, population, device, blocklist, ...    ip, port
 *   event reports (sinkhole, honeypot, DDoS      src_ip, src_port: the host
 *     participant, IP spoofer, ...)              seen connecting
 *   sinkhole HTTP referer reports                http_referer_ip,
 *                                                http_referer_port: a site of
 *                                                ours linking to a sinkhole
 *   honeypot DDoS target reports (*_ddos_target) dst_ip, dst_port: the
 *                                                attacked host is ours
 *
 * and the transport in "protocol" throughout. Older layouts put the source
 * port of an "ip" in "src_port" (sinkhole_http_drone). dst_ip is otherwise
 * the sinkhole or honeypot, never the host to notify.
 *
 * A header can hold more than one host column (spam_url: "ip" of the URL's
 * host and "src_ip" of the spam sender); they are candidates in the order
 * above, and a row goes to the first one that lies in our network.
 *
 * Owns: the rule table.
 */
#ifndef SM_HOSTCOLS_H
#define SM_HOSTCOLS_H

#include <stddef.h>

#define HOSTCOLS_MAX 4

struct hostcol {
	int address;		/* column index of a host address */
	int port;		/* column index of its port, or -1 */
	int port_is_source;	/* the port is the one the host connected from */
	const char *name;	/* the address column's name */
};

struct hostcols {
	struct hostcol host[HOSTCOLS_MAX];	/* candidates, preferred first */
	size_t nhost;				/* 0: the report names no host */
	int protocol;				/* column index of the transport, or -1 */
};

/* hostcols_find - the host, port and protocol columns of a report of TYPE
 * whose header is NAMES (lowercase, NCOLS of them) */
void hostcols_find(struct hostcols *hc, const char *type, char *const *names, size_t ncols);

/* hostcols_names - the host columns looked for, for error messages:
 * "ip, src_ip, http_referer_ip" */
const char *hostcols_names(void);

#endif
