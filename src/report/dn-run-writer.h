/* dn-run-writer.h: the run-folder observer.
 *
 * Turns a run's events into files: after every epoch of a run with a tracker
 * (dendritic, or the recorder of a run without dendrites) the Perforated AI
 * file set (the six CSVs, history.csv and the 2x2 graph <name>.png), a
 * snapshot of them whenever the tracker asks (suffix _beforeSwitch_N, ...),
 * and for every run a plain-text log of epochs and
 * decisions (run.log). Checkpoints are the engine's; this writes what cairo
 * draws and the tables. A write error does not stop training: the first one
 * is kept and returned at the end.
 */
#pragma once

#include "dn-train.h"

G_BEGIN_DECLS

typedef struct _DnRunWriter DnRunWriter;

DnRunWriter *dn_run_writer_new (void);
/* Call from the run's observer for every event. */
void dn_run_writer_event (DnRunWriter *w, const DnEvent *ev);
/* Frees the writer; returns the first error it met (or NULL). */
GError *dn_run_writer_free (DnRunWriter *w);

G_END_DECLS
