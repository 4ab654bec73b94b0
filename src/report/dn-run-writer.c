/* dn-run-writer.c: writing a run's tables, graph and log as it goes. */
#include "dn-run-writer.h"
#include "dn-continual-files.h"
#include "dn-run-dir.h"
#include "dn-run-files.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct _DnRunWriter {
    GError *error;
    FILE *log;
    char *log_dir;
    GString *history; /* continual runs: history.csv so far */
    gint64 set_written; /* when the tables and graph were last written (monotonic µs) */
};

/* The tables and the graph are rewritten after an epoch at most this often,
 * unless the tracker decided something: on a small network drawing the graph
 * and syncing seven files costs more than an epoch. The last epoch's set is
 * always written (at the end of the run, stopped or not), and `latest` holds
 * the whole history, so a resumed run writes it all again. */
#define SET_INTERVAL (5 * G_TIME_SPAN_SECOND)

DnRunWriter *dn_run_writer_new (void)
{
    return g_new0 (DnRunWriter, 1);
}

static void keep_error (DnRunWriter *w, GError *e)
{
    if (e == NULL)
        return;
    if (w->error == NULL)
        w->error = e;
    else
        g_error_free (e);
}

static void log_line (DnRunWriter *w, const char *run_dir, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
static void log_line (DnRunWriter *w, const char *run_dir, const char *format, ...)
{
    if (run_dir == NULL)
        return;
    if (w->log == NULL || g_strcmp0 (w->log_dir, run_dir) != 0) {
        if (w->log != NULL)
            fclose (w->log);
        g_free (w->log_dir);
        w->log_dir = g_strdup (run_dir);
        g_autofree char *path = g_build_filename (run_dir, "run.log", NULL);
        w->log = fopen (path, "a");
        if (w->log == NULL)
            return;
    }
    g_autoptr (GDateTime) now = g_date_time_new_now_local ();
    g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%d %H:%M:%S");
    va_list args;
    va_start (args, format);
    g_autofree char *msg = g_strdup_vprintf (format, args);
    va_end (args);
    fprintf (w->log, "%s  %s\n", stamp, msg);
    fflush (w->log);
}

static void write_set (DnRunWriter *w, const DnEvent *ev, const char *suffix)
{
    GError *e = NULL;
    if (!dn_run_files_write_csvs (ev->tracker, ev->run_dir, ev->save_name, suffix, &e) ||
        !dn_run_files_write_graph (ev->tracker, ev->run_dir, ev->save_name, suffix, &e))
        keep_error (w, e);
}

static void continual_epoch (DnRunWriter *w, const DnEvent *ev)
{
    char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE],
        d[G_ASCII_DTOSTR_BUF_SIZE];
    log_line (w, ev->run_dir, "task %d, epoch %d: loss %s, train %.2f, test %.2f, %.1f s", ev->task,
              ev->epoch, g_ascii_formatd (a, sizeof a, "%.4f", ev->loss), ev->train_acc,
              ev->test_acc, ev->seconds);
    if (ev->run_dir == NULL)
        return;
    g_autofree char *path = g_build_filename (ev->run_dir, "history.csv", NULL);
    if (w->history == NULL) {
        w->history = g_string_new (
            "task,epoch,loss,train_accuracy,test_accuracy,seconds,samples_per_s\n");
        /* A resumed run keeps the rows of the tasks finished before. */
        g_autofree char *old = NULL;
        if (ev->task > 0 && g_file_get_contents (path, &old, NULL, NULL)) {
            g_auto (GStrv) lines = g_strsplit (old, "\n", -1);
            for (int i = 1; lines[i] != NULL; i++)
                if (lines[i][0] != '\0' && atoi (lines[i]) < ev->task)
                    g_string_append_printf (w->history, "%s\n", lines[i]);
        }
    }
    g_string_append_printf (w->history, "%d,%d,%s,%s,%s,%s,%.1f\n", ev->task, ev->epoch,
                            g_ascii_formatd (a, sizeof a, "%.6g", ev->loss),
                            g_ascii_formatd (b, sizeof b, "%.4f", ev->train_acc),
                            g_ascii_formatd (c, sizeof c, "%.4f", ev->test_acc),
                            g_ascii_formatd (d, sizeof d, "%.3f", ev->seconds), ev->samples_per_s);
    GError *e = NULL;
    if (!dn_file_write_atomic (path, w->history->str, w->history->len, &e))
        keep_error (w, e);
}

void dn_run_writer_event (DnRunWriter *w, const DnEvent *ev)
{
    char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
    GError *err = NULL;
    if (ev->tasks > 0) {
        switch (ev->kind) {
        case DN_EVENT_EPOCH:
            continual_epoch (w, ev);
            return;
        case DN_EVENT_TASK:
            log_line (w, ev->run_dir, "after task %d: mean accuracy over tasks 0..%d %.2f %%",
                      ev->task, ev->task, ev->test_acc);
            if (ev->run_dir != NULL &&
                !dn_continual_files_matrix (ev->run_dir, ev->tasks, ev->accuracy_matrix, &err))
                keep_error (w, err);
            return;
        case DN_EVENT_DONE:
            if (ev->run_dir != NULL) {
                if (!dn_continual_files_matrix (ev->run_dir, ev->tasks, ev->accuracy_matrix, &err) ||
                    !dn_continual_files_summary (ev->run_dir, ev, &err) ||
                    (ev->activity != NULL &&
                     !dn_continual_files_activity (ev->run_dir, ev->tasks, ev->activity_units,
                                                   ev->activity, ev->activity_layer, &err)))
                    keep_error (w, err);
            }
            log_line (w, ev->run_dir, "%s%s", ev->cancelled ? "stopped: " : "done: ",
                      ev->message ? ev->message : "");
            return;
        default:
            break;
        }
    }
    switch (ev->kind) {
    case DN_EVENT_START:
        log_line (w, ev->run_dir, "start: %" G_GINT64_FORMAT " parameters, %" G_GINT64_FORMAT
                                  " training samples, up to %d epochs on %s",
                  ev->params, ev->train_samples, ev->epochs, ev->device);
        break;
    case DN_EVENT_EPOCH:
        log_line (w, ev->run_dir, "epoch %d: loss %s, validation %s, test %.2f, %.1f s%s%s",
                  ev->epoch, g_ascii_formatd (a, sizeof a, "%.4f", ev->loss),
                  g_ascii_formatd (b, sizeof b, "%.2f", ev->val_acc), ev->test_acc, ev->seconds,
                  ev->status ? "; " : "", ev->status ? ev->status : "");
        if (ev->tracker != NULL && ev->run_dir != NULL) {
            gint64 now = g_get_monotonic_time ();
            if (w->set_written == 0 || now - w->set_written >= SET_INTERVAL ||
                ev->message != NULL) {
                write_set (w, ev, NULL);
                w->set_written = now;
            }
        }
        break;
    case DN_EVENT_DECISION:
    case DN_EVENT_LOG:
        log_line (w, ev->run_dir != NULL ? ev->run_dir : w->log_dir, "%s", ev->message);
        break;
    case DN_EVENT_SNAPSHOT:
        if (ev->tracker != NULL && ev->run_dir != NULL) {
            GError *e = NULL;
            DnTrackerOp op = {0};
            op.kind = DN_TRACKER_OP_SAVE_GRAPHS;
            g_strlcpy (op.name, ev->suffix != NULL ? ev->suffix : "", sizeof op.name);
            op.before_restore = ev->before_restore;
            op.timestamped = ev->timestamped;
            if (!dn_run_files_write_snapshot (ev->tracker, ev->run_dir, ev->save_name, &op,
                                              ev->epoch, ev->snapshot, &e))
                keep_error (w, e);
        }
        break;
    case DN_EVENT_DONE:
        if (ev->tracker != NULL && ev->run_dir != NULL)
            write_set (w, ev, NULL);
        log_line (w, ev->run_dir, "%s%s", ev->cancelled ? "stopped: " : "done: ",
                  ev->message ? ev->message : "");
        break;
    case DN_EVENT_BATCH:
    case DN_EVENT_TASK:
        break;
    }
}

GError *dn_run_writer_free (DnRunWriter *w)
{
    if (w->log != NULL)
        fclose (w->log);
    g_free (w->log_dir);
    if (w->history != NULL)
        g_string_free (w->history, TRUE);
    GError *e = w->error;
    g_free (w);
    return e;
}
