/*
 * preview - the "shadowmilter preview" command: notices from sample findings
 *
 *   shadowmilter preview TYPE [--config CONF] [--now TIME]
 *   shadowmilter preview --all [--config CONF] [--now TIME]
 *
 * Renders the notice a customer would get for report TYPE, with sample
 * findings on documentation addresses, so a site can review the wording of
 * its templates and catalogue before going live. --all renders every
 * catalogue type, every template and one unknown type, each under a banner.
 * Nothing is sent.
 */
#ifndef SM_PREVIEW_H
#define SM_PREVIEW_H

int preview_main(int argc, char **argv);

#endif
