/*
 * catalogue - "shadowmilter catalogue --update FILE|URL": the types ShadowServer added
 *
 * Reads ShadowServer's published schema from a file, or from a URL with
 * libcurl under the fetch rules (report/fetch.h: http or https only, the
 * host interchange.shadowserver.org or one of ReportLinkHosts, redirects
 * checked hop by hop, MaxReportSize, FetchTimeout, CAFile), and writes the
 * UpdatedCatalogue file (report/catalogueupdate.h). As root it first becomes
 * UserID, so the file is the daemon's. The daemon reads the file at its
 * next start or SIGHUP.
 */
#ifndef SM_CMD_CATALOGUE_H
#define SM_CMD_CATALOGUE_H

int catalogue_main(int argc, char **argv);

#endif
