/* dn-bench-continual.c: how long a continual-learning run takes and where the time
 * goes: prototype_10 (the Active Dendrites Network on 10 permuted tasks) on the
 * bundled MNIST sample, run twice: with the sparse kernels that exploit k-WTA's 5 %
 * activity, and with dense GEMMs only (DN_ACTIVE_DENSE=1). Prints a table and
 * writes a JSON file. */
#include "dn-blas.h"
#include "dn-run.h"
#include "dn-json.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

typedef struct {
    double total, per_task, average;
    double part[8];
    double idle_row_steps, row_steps;
} Result;

static const char *const parts[] = {"segments", "kwta", "dense", "other_layers", "optimizer",
                                    "loss", "data", "evaluation"};

static gboolean run_once (const char *example, int threads, int tasks, int epochs, gboolean dense,
                          Result *r, GError **error)
{
    g_autoptr (DnExperiment) exp = dn_experiment_load (example, error);
    if (exp == NULL)
        return FALSE;
    if (tasks > 0 && tasks < exp->cl.tasks) {
        /* the first `tasks` tasks, evaluated after every one */
        exp->cl.tasks = tasks;
        exp->cl.n_eval_after = 0;
    }
    if (epochs > 0)
        exp->cl.epochs_per_task = epochs;
    if (dense)
        g_setenv ("DN_ACTIVE_DENSE", "1", TRUE);
    else
        g_unsetenv ("DN_ACTIVE_DENSE");
    g_autofree char *dir = g_dir_make_tmp ("dn-bench-XXXXXX", error);
    if (dir == NULL)
        return FALSE;
    DnRunOptions opts = {.out_dir = dir, .threads = threads, .profile = TRUE};
    DnRunResult res = {0};
    gboolean ok = dn_experiment_run (exp, &opts, NULL, &res, error);
    if (ok) {
        g_autoptr (JsonNode) node = json_from_string (res.profile_json, error);
        JsonObject *o = json_node_get_object (node);
        r->total = json_object_get_double_member (o, "total");
        for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
            r->part[i] = json_object_get_double_member (o, parts[i]);
        r->idle_row_steps = json_object_get_double_member_with_default (o, "idle_row_steps", 0.0);
        r->row_steps = json_object_get_double_member_with_default (o, "row_steps", 0.0);
        JsonArray *ts = json_object_get_array_member (o, "task_seconds");
        guint n = json_array_get_length (ts);
        g_autofree double *v = g_new (double, MAX (n, 1));
        for (guint i = 0; i < n; i++)
            v[i] = json_array_get_double_element (ts, i);
        qsort (v, n, sizeof (double), cmp_double);
        r->per_task = n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : NAN;
        r->average = res.test_at_best_val;
    }
    dn_run_result_clear (&res);
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "dn-bench-continual: could not remove %s\n", dir);
    return ok;
}

static void print_result (const char *label, const Result *r)
{
    double layers = 0.0;
    for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
        layers += r->part[i];
    printf ("%s: %.1f s in all (%.1f min), median %.1f s of training per task, average accuracy "
            "%.2f %%\n",
            label, r->total, r->total / 60.0, r->per_task, r->average);
    for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
        printf ("  %-14s %8.1f s  %5.1f %%\n", parts[i], r->part[i], 100.0 * r->part[i] / r->total);
    printf ("  %-14s %8.1f s  %5.1f %%\n", "rest", r->total - layers,
            100.0 * (r->total - layers) / r->total);
    if (r->row_steps > 0)
        printf ("  segment-row updates left out as idle: %.1f %% of %.3g\n",
                100.0 * r->idle_row_steps / r->row_steps, r->row_steps);
}

int main (int argc, char **argv)
{
    g_autoptr (GError) blas_error = NULL;
    if (!dn_blas_maybe_reexec (argv, &blas_error)) {
        fprintf (stderr, "dn-bench-continual: %s\n", blas_error->message);
        return 1;
    }
    int threads = 2, tasks = 0, epochs = 0;
    gboolean skip_dense = FALSE;
    g_autofree char *json_path = NULL, *example = NULL;
    GOptionEntry entries[] = {
        {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads (2)", "N"},
        {"example", 0, 0, G_OPTION_ARG_FILENAME, &example,
         "Experiment (data/examples/continual/prototype_10.json)", "FILE"},
        {"tasks", 0, 0, G_OPTION_ARG_INT, &tasks,
         "Train only the first N tasks (for the 50- and 100-task examples)", "N"},
        {"epochs", 0, 0, G_OPTION_ARG_INT, &epochs,
         "Epochs per task instead of the experiment's (e.g. 3 for the 20-epoch SI runs)", "N"},
        {"skip-dense", 0, 0, G_OPTION_ARG_NONE, &skip_dense, "Skip the dense-only run", NULL},
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "Write the results here", "FILE"},
        {NULL},
    };
    g_autoptr (GOptionContext) ctx = g_option_context_new ("- time a continual-learning run");
    g_option_context_add_main_entries (ctx, entries, NULL);
    g_autoptr (GError) error = NULL;
    if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
        fprintf (stderr, "dn-bench-continual: %s\n", error->message);
        return 2;
    }
    if (example == NULL)
        example = g_strdup ("data/examples/continual/prototype_10.json");
    g_autofree char *first_t = tasks > 0 ? g_strdup_printf (" (its first %d tasks)", tasks) : NULL;
    g_autofree char *first_e = epochs > 0 ? g_strdup_printf (" (%d epochs per task)", epochs) : NULL;
    g_autofree char *first = g_strconcat (first_t ? first_t : "", first_e ? first_e : "", NULL);
    g_autofree char *kernels = dn_blas_describe ();
    printf ("%s%s on %d threads; %s\n", example, first, threads, kernels);
    Result sparse = {0}, dense = {0};
    if (!run_once (example, threads, tasks, epochs, FALSE, &sparse, &error)) {
        fprintf (stderr, "dn-bench-continual: %s\n", error->message);
        return 1;
    }
    print_result ("sparse kernels", &sparse);
    if (!skip_dense) {
        if (!run_once (example, threads, tasks, epochs, TRUE, &dense, &error)) {
            fprintf (stderr, "dn-bench-continual: %s\n", error->message);
            return 1;
        }
        print_result ("dense GEMMs only", &dense);
        printf ("sparse kernels: %.2fx the speed of dense GEMMs (whole run)\n",
                dense.total / sparse.total);
    }
    if (json_path != NULL) {
        g_autoptr (JsonBuilder) b = json_builder_new ();
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "example");
        json_builder_add_string_value (b, example);
        json_builder_set_member_name (b, "threads");
        json_builder_add_int_value (b, threads);
        const Result *rs[2] = {&sparse, skip_dense ? NULL : &dense};
        const char *names[2] = {"sparse", "dense"};
        for (int k = 0; k < 2; k++) {
            if (rs[k] == NULL)
                continue;
            json_builder_set_member_name (b, names[k]);
            json_builder_begin_object (b);
            json_builder_set_member_name (b, "seconds");
            json_builder_add_double_value (b, rs[k]->total);
            json_builder_set_member_name (b, "median_task_seconds");
            json_builder_add_double_value (b, rs[k]->per_task);
            json_builder_set_member_name (b, "average_accuracy");
            json_builder_add_double_value (b, rs[k]->average);
            json_builder_set_member_name (b, "idle_row_steps");
            json_builder_add_double_value (b, rs[k]->idle_row_steps);
            json_builder_set_member_name (b, "row_steps");
            json_builder_add_double_value (b, rs[k]->row_steps);
            for (guint i = 0; i < G_N_ELEMENTS (parts); i++) {
                json_builder_set_member_name (b, parts[i]);
                json_builder_add_double_value (b, rs[k]->part[i]);
            }
            json_builder_end_object (b);
        }
        json_builder_end_object (b);
        g_autoptr (JsonNode) root = json_builder_get_root (b);
        if (!dn_json_save (root, json_path, &error)) {
            fprintf (stderr, "dn-bench-continual: %s\n", error->message);
            return 1;
        }
        printf ("results written to %s\n", json_path);
    }
    return 0;
}
