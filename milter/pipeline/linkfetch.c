/*
 * linkfetch - the report behind a link-only mail, through the same pipeline
 *
 * See linkfetch.h.
 */
#include "pipeline/linkfetch.h"
#include "pipeline/pipeline.h"
#include "config/config.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>

struct fetch_opts
linkfetch_opts(const struct config *cfg)
{
	struct fetch_opts o = { cfg->link_hosts, cfg->nlink_hosts, cfg->max_report_size, (long)cfg->fetch_timeout,
	    *cfg->ca_file ? cfg->ca_file : NULL, cfg->tmp_dir };

	return o;
}

enum fetch_outcome
linkfetch_into(struct pipeline *p, const struct config *cfg, const struct pipeline_result *mail, char *why,
    size_t whylen)
{
	struct fetch_opts o = linkfetch_opts(cfg);
	struct fetch_result res;
	struct buf vouch = BUF_INIT, reason = BUF_INIT;
	enum fetch_outcome out;

	if ((out = fetch_report(&o, mail->link, &res, why, whylen)) != FETCH_OK)
		return out;
	buf_printf(&vouch, "link of a report mail (%s)", mail->auth ? mail->auth : "authenticated");
	buf_printf(&reason, "link only: the report data was fetched from %s", mail->link);
	{
		struct pipeline_origin origin = { mail->report_ref, mail->message_id, mail->subject, mail->link,
		    "link", vouch.data, reason.data };

		pipeline_set_fetched(p, &origin);
	}
	if (pipeline_add_file(p, res.file, res.fd, res.zip) != 0) {
		err_set(why, whylen, "%.200s: the fetched file could not be read back", mail->link);
		out = FETCH_RETRY;
	}
	buf_free(&vouch);
	buf_free(&reason);
	fetch_result_free(&res);
	return out;
}
