/* dn-app-latency: how responsive Dendrite Studio's window stays while a CNN trains.
 *
 *   dn-app-latency [--template mnist-cnn] [--seconds 60] [--threads N]
 *
 * Opens the real window (DnWindow) on the template, measures memory at idle,
 * starts training with the window's own Start action and, for the given
 * time, measures the main loop: a 10 ms tick at high priority records how
 * late each tick runs (a stall is the main loop being busy), and the charts
 * count their redraws. Then it stops the run (the cancel flag, as Stop does)
 * and prints one line of JSON with the numbers. Needs a display (Xvfb is
 * fine: bench/app/run-latency.sh).
 */
#include "dn-application.h"
#include "dn-chart-widget.h"
#include "dn-paths.h"
#include "dn-training-page.h"
#include "dn-window.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define TICK_MS 10

typedef struct {
    gint64 last, t0;
    GArray *lates;        /* double ms */
    GString *long_stalls; /* "at_s:ms" of each stall over 50 ms */
    gboolean measuring;
} Ticker;

static gboolean on_tick (gpointer data)
{
    Ticker *t = data;
    gint64 now = g_get_monotonic_time ();
    if (t->measuring && t->last > 0) {
        double late = (now - t->last) / 1000.0 - TICK_MS;
        g_array_append_val (t->lates, late);
        if (late > 50)
            g_string_append_printf (t->long_stalls, "%s[%.1f, %.0f]",
                                    t->long_stalls->len ? ", " : "", (now - t->t0) / 1e6, late);
    }
    t->last = now;
    return G_SOURCE_CONTINUE;
}

static long status_kb (const char *key)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
        return -1;
    const char *p = strstr (text, key);
    return p != NULL ? atol (p + strlen (key) + 1) : -1;
}

/* The main thread's time on a CPU and waiting for one (ns), from the scheduler:
 * a stall with a long wait was another program's load, not ours. */
static void schedstat (guint64 *run, guint64 *wait)
{
    g_autofree char *text = NULL;
    *run = *wait = 0;
    if (g_file_get_contents ("/proc/thread-self/schedstat", &text, NULL, NULL))
        sscanf (text, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, run, wait);
}

static double load_average (void)
{
    g_autofree char *text = NULL;
    return g_file_get_contents ("/proc/loadavg", &text, NULL, NULL) ? g_ascii_strtod (text, NULL)
                                                                    : NAN;
}

static int cmp_double (gconstpointer a, gconstpointer b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void run_for (double seconds)
{
    gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
    while (g_get_monotonic_time () < end)
        g_main_context_iteration (NULL, TRUE);
}

static guint chart_draws (DnWindow *win)
{
    GtkWidget *page = NULL;
    for (GtkWidget *w = gtk_widget_get_first_child (GTK_WIDGET (win)); w != NULL;) {
        if (DN_IS_TRAINING_PAGE (w)) {
            page = w;
            break;
        }
        /* depth-first walk */
        GtkWidget *next = gtk_widget_get_first_child (w);
        while (next == NULL && w != NULL) {
            next = gtk_widget_get_next_sibling (w);
            if (next == NULL)
                w = gtk_widget_get_parent (w);
            if (w == GTK_WIDGET (win))
                return 0;
        }
        w = next;
    }
    guint n = 0;
    for (int k = 0; page != NULL && k < DN_CHART_N_KINDS; k++)
        n += dn_chart_widget_get_n_draws (
            DN_CHART_WIDGET (dn_training_page_get_chart (DN_TRAINING_PAGE (page), k)));
    return n;
}

int main (int argc, char **argv)
{
    g_autofree char *template = g_strdup ("mnist-cnn");
    double seconds = 60;
    int threads = 0;
    GOptionEntry entries[] = {
        {"template", 0, 0, G_OPTION_ARG_STRING, &template, "Example to train", "NAME"},
        {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "How long to measure", "S"},
        {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "CPU threads for training", "N"},
        {NULL},
    };
    g_autoptr (GOptionContext) ctx = g_option_context_new ("- main-loop latency while training");
    g_option_context_add_main_entries (ctx, entries, NULL);
    GError *error = NULL;
    if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
        fprintf (stderr, "dn-app-latency: %s\n", error->message);
        return 2;
    }
    if (!gtk_init_check ()) {
        fprintf (stderr, "dn-app-latency: no display (run it under xvfb-run)\n");
        return 77;
    }
    g_autofree char *out = g_dir_make_tmp ("dn-latency-XXXXXX", NULL);
    g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
    g_autoptr (DnApplication) app = dn_application_new ();
    g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
    if (!g_application_register (G_APPLICATION (app), NULL, &error)) {
        fprintf (stderr, "dn-app-latency: %s\n", error->message);
        return 1;
    }
    /* without its settings the window would write the run into the user's documents */
    GSettings *settings = dn_application_get_settings (app);
    if (settings == NULL) {
        fprintf (stderr, "dn-app-latency: no settings schema; build data/gschemas.compiled "
                         "(bench/app/run-latency.sh does)\n");
        g_rmdir (out);
        return 1;
    }
    g_settings_set_string (settings, "output-folder", out);
    g_settings_set_int (settings, "threads", threads);
    DnWindow *win = dn_window_new (app);
    gtk_window_present (GTK_WINDOW (win));
    g_autofree char *examples = dn_paths_examples_dir ();
    g_autofree char *file = g_strdup_printf ("%s.json", template);
    g_autofree char *path = g_build_filename (examples, file, NULL);
    DnExperiment *exp = dn_experiment_load (path, &error);
    if (exp == NULL) {
        fprintf (stderr, "dn-app-latency: %s\n", error->message);
        return 1;
    }
    exp->epochs = 1000; /* the time limit stops it, not the epochs */
    dn_window_set_document (win, dn_document_new (exp, NULL));
    dn_window_show_page (win, "training");

    Ticker t = {.lates = g_array_new (FALSE, FALSE, sizeof (double)),
                .long_stalls = g_string_new (NULL)};
    g_timeout_add_full (G_PRIORITY_HIGH, TICK_MS, on_tick, &t, NULL);
    run_for (3);
    long rss_idle = status_kb ("VmRSS:");

    DnTrainer *trainer = dn_window_get_trainer (win);
    guint draws0 = chart_draws (win);
    guint deliveries0 = dn_trainer_get_n_deliveries (trainer);
    gtk_widget_activate_action (GTK_WIDGET (win), "win.start", NULL);
    guint64 run0, wait0, run1, wait1;
    schedstat (&run0, &wait0);
    t.measuring = TRUE;
    gint64 t0 = g_get_monotonic_time ();
    t.t0 = t0;
    run_for (seconds);
    double elapsed = (g_get_monotonic_time () - t0) / 1e6;
    t.measuring = FALSE;
    schedstat (&run1, &wait1);
    long rss_training = status_kb ("VmRSS:");
    guint draws = chart_draws (win) - draws0;
    guint deliveries = dn_trainer_get_n_deliveries (trainer) - deliveries0;
    DnRunSnapshot *snap = dn_trainer_get_snapshot (trainer);
    int epochs = snap->epoch;
    int batch = snap->batch;
    gtk_widget_activate_action (GTK_WIDGET (win), "win.stop", NULL);
    while (dn_trainer_is_running (trainer))
        g_main_context_iteration (NULL, TRUE);
    long rss_peak = status_kb ("VmHWM:");

    g_array_sort (t.lates, cmp_double);
    guint n = t.lates->len;
    double max = n > 0 ? g_array_index (t.lates, double, n - 1) : NAN;
    double p99 = n > 0 ? g_array_index (t.lates, double, (guint) (n * 0.99)) : NAN;
    double p50 = n > 0 ? g_array_index (t.lates, double, n / 2) : NAN;
    guint over50 = 0;
    for (guint i = 0; i < n; i++)
        over50 += g_array_index (t.lates, double, i) > 50;
    printf ("{\"template\": \"%s\", \"seconds\": %.1f, \"epochs_done\": %d, \"batch\": %d, "
            "\"ticks\": %u, \"stall_ms_max\": %.1f, \"stall_ms_p99\": %.1f, "
            "\"stall_ms_median\": %.2f, \"stalls_over_50ms\": %u, \"snapshots_per_s\": %.2f, "
            "\"chart_redraws_per_s\": %.2f, \"charts\": %d, \"rss_idle_mb\": %.1f, "
            "\"rss_training_mb\": %.1f, \"rss_peak_mb\": %.1f, "
            "\"main_thread_busy_s\": %.2f, \"main_thread_waiting_for_cpu_s\": %.2f, "
            "\"load_average\": %.2f, \"stalls_over_50ms_at_s_ms\": [%s]}\n",
            template, elapsed, epochs, batch, n, max, p99, p50, over50, deliveries / elapsed,
            draws / elapsed / DN_CHART_N_KINDS, DN_CHART_N_KINDS, rss_idle / 1024.0,
            rss_training / 1024.0, rss_peak / 1024.0, (run1 - run0) / 1e9, (wait1 - wait0) / 1e9,
            load_average (), t.long_stalls->str);
    gtk_window_destroy (GTK_WINDOW (win));
    g_array_unref (t.lates);
    g_string_free (t.long_stalls, TRUE);
    /* the run folder was scratch */
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", out);
    if (system (cmd) != 0)
        fprintf (stderr, "dn-app-latency: could not remove %s\n", out);
    return 0;
}
