/*
 * replay - the "shadowmilter replay" command: saved mail through the pipeline
 *
 * Dry run: prints each notice (or writes it as an .eml into --out DIR), or
 * one JSON object per message with --json. The same pipeline as the milter.
 */
#ifndef SM_REPLAY_H
#define SM_REPLAY_H

int replay_main(int argc, char **argv);

#endif
