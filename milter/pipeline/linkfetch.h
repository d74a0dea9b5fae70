/*
 * linkfetch - the report behind a link-only mail, through the same pipeline
 *
 * An authenticated report mail that carries only a link (pipeline_result's
 * link) is read by fetching the link (report/fetch.h, under ReportLinkHosts,
 * MaxReportSize, FetchTimeout and CAFile) and running the file through a
 * pipeline of its own as that mail's report: the same history, claims and
 * notices as if the file had been attached. Used by replay (unless
 * --offline) and by the delivery worker's fetch jobs.
 *
 * Owns: nothing.
 */
#ifndef SM_LINKFETCH_H
#define SM_LINKFETCH_H

#include <stddef.h>

#include "report/fetch.h"

struct config;
struct pipeline;
struct pipeline_result;

/* linkfetch_opts - the fetch limits CFG sets */
struct fetch_opts linkfetch_opts(const struct config *cfg);

/*
 * linkfetch_into - fetch the link of MAIL (an authenticated link-only
 * report mail's result) into P (new, set up by the caller, not fed):
 * FETCH_OK and P holds the file as MAIL's report (pipeline_finish next);
 * else the reason in WHY
 */
enum fetch_outcome linkfetch_into(struct pipeline *p, const struct config *cfg, const struct pipeline_result *mail,
    char *why, size_t whylen);

#endif
