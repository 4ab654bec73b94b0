/* dn-cli-progress.c: the terminal view of a run: a bar per epoch with
 * samples/s and ETA, redrawn in place, and one line per epoch. */
#include "dn-cli.h"

#include <math.h>
#include <string.h>

static void format_duration (char *buf, size_t len, double s)
{
    if (!isfinite (s) || s < 0)
        s = 0;
    int t = (int) (s + 0.5);
    if (t >= 3600)
        g_snprintf (buf, len, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        g_snprintf (buf, len, "%d:%02d", t / 60, t % 60);
}

static void format_pct (char *buf, size_t len, double v)
{
    if (isnan (v))
        g_strlcpy (buf, "  -  ", len);
    else
        g_snprintf (buf, len, "%.2f %%", v);
}

static void clear_line (DnCliProgress *p)
{
    if (p->tty && p->last_width > 0) {
        fprintf (p->out, "\r%*s\r", p->last_width, "");
        p->last_width = 0;
    }
}

/* Rewrites the terminal line: PREFIX [####....] 42%  samples/s  ETA  loss. */
static void progress_line (DnCliProgress *p, const char *prefix, int width, const DnEvent *ev)
{
    double frac = (double) ev->batch / MAX (ev->n_batches, 1);
    int fill = CLAMP ((int) (frac * width), 0, width);
    char bar[64], eta[32], line[256];
    memset (bar, '#', fill);
    memset (bar + fill, '.', width - fill);
    bar[width] = '\0';
    format_duration (eta, sizeof eta, ev->eta_seconds);
    int n = g_snprintf (line, sizeof line, "%s [%s] %3.0f%%  %.0f samples/s  ETA %s  loss %.4f",
                        prefix, bar, frac * 100, ev->samples_per_s, eta, ev->loss);
    n = MIN (n, (int) sizeof line - 1);
    fprintf (p->out, "\r%s", line);
    if (n < p->last_width)
        fprintf (p->out, "%*s", p->last_width - n, "");
    p->last_width = n;
    fflush (p->out);
}

/* --resume goes on from latest.safetensors: suggest it only when there is one. */
static void suggest_resume (DnCliProgress *p, const char *run_dir)
{
    if (run_dir == NULL)
        return;
    g_autofree char *latest = g_build_filename (run_dir, "latest.safetensors", NULL);
    if (g_file_test (latest, G_FILE_TEST_EXISTS))
        fprintf (p->out, "continue with: dendrite train --resume %s\n", run_dir);
    else
        fprintf (p->out,
                 "nothing to resume: no epoch (or task) finished; to start again in %s, run the "
                 "same command with --overwrite\n",
                 run_dir);
}

static gboolean continual_progress (DnCliProgress *p, const DnEvent *ev)
{
    char a[32];
    switch (ev->kind) {
    case DN_EVENT_START:
        fprintf (p->out,
                 "continual learning on %s: %d tasks, %d epochs each, %" G_GINT64_FORMAT
                 " parameters, %" G_GINT64_FORMAT " training images per task\n",
                 ev->device, ev->tasks, ev->epochs, ev->params, ev->train_samples);
        return TRUE;
    case DN_EVENT_BATCH: {
        if (p->tasks_start == 0) {
            p->tasks_start = g_get_monotonic_time ();
            p->first_task = ev->task;
        }
        if (!p->tty)
            return TRUE;
        char prefix[64];
        g_snprintf (prefix, sizeof prefix, "task %d (%d/%d) epoch %d/%d", ev->task, ev->task + 1,
                    ev->tasks, ev->epoch, ev->epochs);
        progress_line (p, prefix, 24, ev);
        return TRUE;
    }
    case DN_EVENT_EPOCH:
        clear_line (p);
        fprintf (p->out,
                 "task %d (%d/%d) epoch %d/%d  loss %.4f  train %.2f %%  test (this task) %.2f %%  "
                 "%.1f s  (%.0f samples/s)\n",
                 ev->task, ev->task + 1, ev->tasks, ev->epoch, ev->epochs, ev->loss,
                 ev->train_acc, ev->test_acc, ev->seconds, ev->samples_per_s);
        fflush (p->out);
        return TRUE;
    case DN_EVENT_TASK: {
        clear_line (p);
        GString *s = g_string_new (NULL);
        for (int j = 0; j <= ev->task; j++)
            g_string_append_printf (s, "%s%.1f", j ? " " : "",
                                    ev->accuracy_matrix[(size_t) ev->task * ev->tasks + j]);
        /* the tasks so far set the pace; later ones evaluate more tasks, so this is
         * a lower bound that tightens as the run goes */
        char left[48] = "";
        int done = ev->task + 1 - p->first_task, rest = ev->tasks - ev->task - 1;
        if (p->tasks_start != 0 && done > 0 && rest > 0) {
            double per = (g_get_monotonic_time () - p->tasks_start) / 1e6 / done;
            format_duration (a, sizeof a, per * rest);
            g_snprintf (left, sizeof left, "  (%d task%s left: at least %s)", rest,
                        rest == 1 ? "" : "s", a);
        }
        fprintf (p->out, "after task %d (%d/%d): mean accuracy over %d task%s %.2f %%  [%s]%s\n",
                 ev->task, ev->task + 1, ev->tasks, ev->task + 1, ev->task ? "s" : "",
                 ev->test_acc, s->str, left);
        g_string_free (s, TRUE);
        fflush (p->out);
        return TRUE;
    }
    case DN_EVENT_DONE:
        clear_line (p);
        format_duration (a, sizeof a, ev->seconds);
        fprintf (p->out, "%s%s in %s\n", ev->cancelled ? "stopped: " : "done: ", ev->message, a);
        if (ev->cancelled)
            suggest_resume (p, ev->run_dir);
        if (ev->run_dir != NULL)
            fprintf (p->out, "model: %s\nrun folder: %s (accuracy_matrix.csv, accuracy_curves.png, "
                             "hidden_activity.png, summary.json)\n",
                     ev->model_path, ev->run_dir);
        fflush (p->out);
        return TRUE;
    default:
        return FALSE;
    }
}

void dn_cli_progress_event (const DnEvent *ev, gpointer user_data)
{
    DnCliProgress *p = user_data;
    char a[32], b[32], c[32];
    if (ev->tasks > 0 && continual_progress (p, ev))
        return;
    switch (ev->kind) {
    case DN_EVENT_START:
        fprintf (p->out,
                 "training on %s: %" G_GINT64_FORMAT " parameters, %" G_GINT64_FORMAT
                 " training samples, %d batches per epoch, %d epochs\n",
                 ev->device, ev->params, ev->train_samples, ev->n_batches, ev->epochs);
        break;
    case DN_EVENT_BATCH: {
        if (!p->tty)
            break;
        char prefix[64];
        g_snprintf (prefix, sizeof prefix, "epoch %d/%d", ev->epoch, ev->epochs);
        progress_line (p, prefix, 30, ev);
        break;
    }
    case DN_EVENT_EPOCH:
        clear_line (p);
        format_pct (a, sizeof a, ev->val_acc);
        format_pct (b, sizeof b, ev->test_acc);
        format_duration (c, sizeof c, ev->seconds);
        char g[48] = "";
        if (ev->tracker != NULL && ev->graph_epoch != ev->epoch)
            g_snprintf (g, sizeof g, " (graph epoch %d)", ev->graph_epoch);
        fprintf (p->out,
                 "epoch %d/%d%s  loss %.4f  train %.2f %%  val %s  test %s  lr %.4g  %.1f s  "
                 "(%.0f samples/s)%s\n",
                 ev->epoch, ev->epochs, g, ev->loss, ev->train_acc, a, b, ev->lr, ev->seconds,
                 ev->samples_per_s, ev->improved ? "  *best" : "");
        /* a dendritic run: the tracker's decision, then where it stands now */
        if (ev->message != NULL)
            fprintf (p->out, "  > %s\n", ev->message);
        if (ev->status != NULL)
            fprintf (p->out, "    %s\n", ev->status);
        fflush (p->out);
        break;
    case DN_EVENT_DECISION:
    case DN_EVENT_SNAPSHOT:
    case DN_EVENT_TASK:
        break;
    case DN_EVENT_LOG:
        clear_line (p);
        fprintf (p->out, "%s\n", ev->message);
        break;
    case DN_EVENT_DONE:
        clear_line (p);
        format_duration (a, sizeof a, ev->seconds);
        fprintf (p->out, "%s%s in %s\n", ev->cancelled ? "stopped: " : "done: ", ev->message, a);
        if (ev->cancelled)
            suggest_resume (p, ev->run_dir);
        if (ev->model_path != NULL)
            fprintf (p->out, "best model: %s\nrun folder: %s\n", ev->model_path, ev->run_dir);
        fflush (p->out);
        break;
    }
}

void dn_cli_observe (const DnEvent *ev, gpointer user_data)
{
    DnCliObserver *o = user_data;
    if (o->writer != NULL)
        dn_run_writer_event (o->writer, ev);
    if (o->json)
        dn_cli_json_event (ev, stdout);
    else
        dn_cli_progress_event (ev, o->progress);
}
