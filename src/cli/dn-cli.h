/* dn-cli.h: the observers of the `dendrite` command: a progress bar for
 * terminals and one JSON object per line for programs. */
#pragma once

#include "dn-train.h"
#include "dn-run-writer.h"

#include <stdio.h>

G_BEGIN_DECLS

typedef struct {
    FILE *out;
    gboolean tty; /* redraw a bar in place */
    int last_width;
    /* continual runs: when the first task of this process began (monotonic µs) and
     * which task that was, for the time left after each task */
    gint64 tasks_start;
    int first_task;
} DnCliProgress;

/* The command's observer: progress or JSON lines, and the run-folder writer. */
typedef struct {
    gboolean json;
    DnCliProgress *progress;
    DnRunWriter *writer;
} DnCliObserver;

void dn_cli_observe (const DnEvent *ev, gpointer user_data);
void dn_cli_progress_event (const DnEvent *ev, gpointer user_data);
void dn_cli_json_event (const DnEvent *ev, gpointer user_data);

/* Prints one JSON object (built by the caller) as one line on `out`. */
void dn_cli_json_print (FILE *out, JsonBuilder *b);
/* Adds a number member; NaN and infinities become null. */
void dn_cli_json_number (JsonBuilder *b, const char *key, double v);

/* dn-cli-onnx.c: `dendrite import` and `dendrite export`. */
int dn_cli_import (int argc, char **argv);
int dn_cli_export (int argc, char **argv);

G_END_DECLS
