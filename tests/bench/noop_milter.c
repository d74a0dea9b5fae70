/*
 * noop_milter - the baseline for bench_passthrough: a libmilter filter that
 * registers the same callbacks as shadowmilter and lets everything pass.
 *
 *   noop_milter unix:/path/to/socket
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>

static sfsistat
cont_connect(SMFICTX *ctx, char *host, struct sockaddr *addr)
{
	(void)ctx; (void)host; (void)addr;
	return SMFIS_CONTINUE;
}

static sfsistat
cont_argv(SMFICTX *ctx, char **argv)
{
	(void)ctx; (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
cont_str(SMFICTX *ctx, char *s)
{
	(void)ctx; (void)s;
	return SMFIS_CONTINUE;
}

static sfsistat
cont_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx; (void)name; (void)value;
	return SMFIS_CONTINUE;
}

static sfsistat
cont_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	(void)ctx; (void)data; (void)len;
	return SMFIS_CONTINUE;
}

static sfsistat
cont_ctx(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc = {
		.xxfi_name = (char *)"noop", .xxfi_version = SMFI_VERSION, .xxfi_flags = 0,
		.xxfi_connect = cont_connect, .xxfi_helo = cont_str, .xxfi_envfrom = cont_argv,
		.xxfi_envrcpt = cont_argv, .xxfi_header = cont_header, .xxfi_eoh = cont_ctx,
		.xxfi_body = cont_body, .xxfi_eom = cont_ctx, .xxfi_abort = cont_ctx, .xxfi_close = cont_ctx,
	};

	if (argc != 2 || smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "usage: noop_milter unix:SOCKET\n");
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
