/*
 * preview - the "shadowmilter preview" command: notices from sample findings
 *
 *   shadowmilter preview TYPE [--config CONF] [--history] [--now TIME]
 *   shadowmilter preview --all [--config CONF] [--history] [--now TIME]
 *
 * Renders the notice a customer would get for report TYPE, with sample
 * findings on documentation addresses, so a site can review the wording of
 * its templates and catalogue before going live. --history renders it as
 * with a StateDB: the findings carry a sample detection history (one of them
 * overdue) and the notice a case reference. --all renders every catalogue
 * type, every template and one unknown type, each under a banner. Nothing is
 * sent and no history is read or written.
 */
#ifndef SM_PREVIEW_H
#define SM_PREVIEW_H

int preview_main(int argc, char **argv);

#endif
