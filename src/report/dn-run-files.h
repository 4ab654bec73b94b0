/* dn-run-files.h: the CSV files and the chart PNG of a run folder.
 *
 * Two kinds of table come out of a tracker's history (docs/run-folder.md
 * lists every file with its columns):
 *
 * - The Perforated-AI-compatible set (spec perforated-dendrites.md §10.2,
 *   reference-era names): <save>Scores.csv, <save>Times.csv,
 *   <save>learning_rate.csv, <save>switch_epochs.csv, <save>param_counts.csv
 *   and <save>best_test_scores.csv, in the reference's long layout, so that
 *   notebooks written for Perforated AI read them unchanged.
 * - history.csv, one tidy wide row per epoch ever trained (user-expectations
 *   §4.4): the current history and the rolled-back rows, flagged, in the
 *   order they were trained.
 *
 * Conventions a reader cannot guess:
 *
 * - Names: <dir>/<save_name><suffix><base>, e.g. run/PAI_beforeSwitch_2Scores.csv.
 *   The live files have suffix "" (or NULL); snapshots use the suffix of a
 *   DN_TRACKER_OP_SAVE_GRAPHS op. The tidy file is <dir>/history<suffix>.csv
 *   (an underscore is put before a suffix that has none).
 * - Numbers are written whatever the locale with '.', as the shortest text
 *   that reads back as the same double ("70.88", "0.001", "70.0"); counts as
 *   integers; a missing value (no test split, a parameter count not yet
 *   reported) is an empty field. UTF-8, '\n' line ends, RFC 4180 quoting.
 * - Every file is written atomically with dn_file_write_atomic (FILE.tmp-XXXXXX
 *   in the same folder, renamed over the old one): a reader never sees half a
 *   file, a failed write leaves the old file and no temporary behind, and the
 *   temporary a kill leaves is removed when the run is resumed.
 * - The folder must exist; nothing here creates folders.
 */
#pragma once

#include "dn-tracker.h"

G_BEGIN_DECLS

typedef enum {
    DN_RUN_FILE_SCORES,           /* Scores.csv */
    DN_RUN_FILE_TIMES,            /* Times.csv */
    DN_RUN_FILE_LEARNING_RATE,    /* learning_rate.csv */
    DN_RUN_FILE_SWITCH_EPOCHS,    /* switch_epochs.csv */
    DN_RUN_FILE_PARAM_COUNTS,     /* param_counts.csv */
    DN_RUN_FILE_BEST_TEST_SCORES, /* best_test_scores.csv */
    DN_RUN_FILE_HISTORY,          /* history.csv, the tidy wide table */
    DN_RUN_FILE_N,
} DnRunFile;

/* The 2x2 figure written by dn_run_files_write_graph, in pixels. */
#define DN_RUN_FILES_GRAPH_WIDTH 1800
#define DN_RUN_FILES_GRAPH_HEIGHT 900

/* "Scores.csv", ..., "history.csv". */
const char *dn_run_file_base_name (DnRunFile file);
/* Where `file` goes; save_name NULL means "PAI", suffix NULL means "". g_free. */
char *dn_run_file_path (const char *dir, const char *save_name, const char *suffix, DnRunFile file);

/* The text of one file. before_restore: the history as it stood before the
 * latest decision's RESTORE (a SAVE_GRAPHS op's `before_restore`). g_free. */
char *dn_run_file_text (const DnTracker *t, DnRunFile file, gboolean before_restore);

/* Perforated Backpropagation's <save>Best PBScores.csv (perforatedai's name
 * and column names): one row per history epoch that has a candidate score,
 * "Epochs" the history row, then per candidate layer "Best ever for all nodes
 * Layer <name>" and "Best current for all nodes Layer <name>" (the phase's
 * best; empty outside dendrite phases). Only runs with candidate scores have
 * it: NULL otherwise. g_free. */
#define DN_RUN_FILE_PB_SCORES_NAME "Best PBScores.csv"
char *dn_run_file_pb_scores_text (const DnTracker *t, gboolean before_restore);
char *dn_run_file_pb_scores_path (const char *dir, const char *save_name, const char *suffix);

/* All seven CSV files, and Best PBScores.csv when the run has candidate
 * scores. FALSE + error (naming the file) at the first failure; files
 * written before it stay. save_name must not contain a '/'. */
gboolean dn_run_files_write_csvs (const DnTracker *t, const char *dir, const char *save_name,
                                  const char *suffix, GError **error);
/* The 2x2 chart figure as <dir>/<save_name><suffix>.png. */
gboolean dn_run_files_write_graph (const DnTracker *t, const char *dir, const char *save_name,
                                   const char *suffix, GError **error);

/* The suffix a SAVE_GRAPHS op names: op->name, with "_epoch<E>_<N>" before it
 * when op->timestamped (where the reference put a time stamp): E the epochs
 * trained (the event's `epoch`), N the snapshot's number within that epoch's
 * decision (the event's `snapshot`). Unique, and the same in a resumed run as
 * in an uninterrupted one. g_free. */
char *dn_run_files_snapshot_suffix (const DnTrackerOp *op, int epoch, int number);
/* Carries out a SAVE_GRAPHS op: CSVs and graph with the op's suffix, drawn
 * from the history before the restore when op->before_restore. */
gboolean dn_run_files_write_snapshot (const DnTracker *t, const char *dir, const char *save_name,
                                      const DnTrackerOp *op, int epoch, int number, GError **error);

G_END_DECLS
