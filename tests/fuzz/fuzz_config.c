/*
 * fuzz_config - libFuzzer target: config_load over any shadowmilter.conf,
 * with a site catalogue beside it
 *
 * The input is the config file; when it contains a line "--catalogue--",
 * what follows is written as site-catalogue.csv next to it (a seed's config
 * names it with "Catalogue site-catalogue.csv"), so the catalogue loader is
 * fuzzed through the same door an admin uses. A config that loads must hold
 * what config_load promises (a customer map, a trusted authserv-id, a
 * catalogue), and its patterns must be usable on a hostile From.
 *
 * Paths into /dev, /proc and /sys are refused: a config that names
 * /dev/stdin as its catalogue blocks by the admin's own choice.
 *
 *   make fuzz   (tests/fuzz/run.sh builds the seeds from conf/ and templates/)
 */
#include "fuzzutil.h"

#include "config/config.h"
#include "trust/recognise.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CATALOGUE_MARK "\n--catalogue--\n"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char conf_path[4096], cat_path[4096];
	char *text = xstrndup((const char *)data, size), *mark, err[1024];
	size_t conf_len = strlen(text);
	struct config *cfg;

	if (*conf_path == '\0') {
		fuzz_path(conf_path, sizeof(conf_path), "shadowmilter.conf");
		fuzz_path(cat_path, sizeof(cat_path), "site-catalogue.csv");
	}
	if (strstr(text, "dev/") || strstr(text, "proc/") || strstr(text, "sys/")) {
		free(text);
		return 0;
	}
	unlink(cat_path);
	if ((mark = strstr(text, CATALOGUE_MARK)) != NULL) {
		conf_len = (size_t)(mark - text) + 1;
		mark += strlen(CATALOGUE_MARK);
		fuzz_write_file(cat_path, mark, strlen(mark));
	}
	fuzz_write_file(conf_path, text, conf_len);
	free(text);

	err[0] = '\0';
	cfg = config_load(conf_path, err, sizeof(err));
	if (cfg == NULL) {
		if (err[0] == '\0')
			fuzz_fail("config_load failed without saying why", NULL);
		return 0;
	}
	if (cfg->customer_map == NULL || cfg->catalogue == NULL)
		fuzz_fail("config_load accepted a config without a map or a catalogue", NULL);
	/* who vouches for a report: our own DKIM verification, or a trusted verifier */
	if (cfg->verify_dkim ? cfg->dkim_keys == NULL : cfg->ntrusted == 0)
		fuzz_fail("config_load accepted a config without DKIM keys (VerifyDKIM yes) "
		    "or an authserv-id (VerifyDKIM no)", NULL);
	recognise_from_matches(cfg, "Shadowserver <autoreports@shadowserver.org>");
	recognise_from_matches(cfg, "\"a<b@c>\" <x@y>, <z@w>");
	if (cfg->ntrusted > 0)
		config_is_trusted_authserv(cfg, cfg->trusted_authserv_ids[0]);
	config_free(cfg);
	return 0;
}
