/* test-continual.c: continual-learning runs end to end on the bundled MNIST
 * sample with a small active dendrites network: the accuracy matrix, prototype
 * task inference, Synaptic Intelligence, determinism, and the run folder. */
#include "dn-continual-files.h"
#include "dn-error.h"
#include "dn-run.h"
#include "dn-continual.h"
#include "dn-model.h"
#include "dn-run-dir.h"
#include "dn-run-writer.h"
#include "dn-safetensors.h"
#include "dn-test-util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TASKS 3

typedef struct {
    DnRunWriter *writer;
    double matrix[TASKS * TASKS];
    double average;
    int n_epochs, n_tasks, n_done, first_task;
    int64_t inferred_ok, inferred_total;
    int activity_units;
    float activity0;
    double first_loss, first_seconds; /* of the first epoch event */
    int stop_at_task; /* > 0: raise the cancel flag at this task's first epoch */
    volatile gint cancel;
    gboolean cancelled;
    double idle_row_steps, row_steps; /* from the run's profile */
} Seen;

static void observe (const DnEvent *ev, gpointer data)
{
    Seen *s = data;
    dn_run_writer_event (s->writer, ev);
    switch (ev->kind) {
    case DN_EVENT_EPOCH:
        g_assert_cmpint (ev->tasks, ==, TASKS);
        if (s->n_epochs++ == 0) {
            s->first_loss = ev->loss;
            s->first_seconds = ev->seconds;
        }
        break;
    case DN_EVENT_BATCH: /* stop in the middle of a task */
        if (s->stop_at_task > 0 && ev->task == s->stop_at_task)
            g_atomic_int_set (&s->cancel, 1);
        break;
    case DN_EVENT_TASK:
        if (s->n_tasks == 0)
            s->first_task = ev->task;
        g_assert_cmpint (ev->task, ==, s->first_task + s->n_tasks);
        s->n_tasks++;
        break;
    case DN_EVENT_LOG: {
        const char *m = strstr (ev->message, "own task for ");
        if (m != NULL) {
            gint64 ok = 0, total = 0;
            g_assert_cmpint (sscanf (m, "own task for %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT,
                                     &ok, &total),
                             ==, 2);
            s->inferred_ok += ok;
            s->inferred_total += total;
        }
        break;
    }
    case DN_EVENT_DONE:
        s->n_done++;
        s->cancelled = ev->cancelled;
        memcpy (s->matrix, ev->accuracy_matrix, sizeof s->matrix);
        s->average = ev->average_accuracy;
        s->activity_units = ev->activity_units;
        s->activity0 = ev->activity != NULL ? ev->activity[0] : -1.0f;
        break;
    default:
        break;
    }
}

static void count_epochs (const DnEvent *ev, gpointer data)
{
    Seen *s = data;
    dn_run_writer_event (s->writer, ev);
    s->n_epochs += ev->kind == DN_EVENT_EPOCH;
}

static DnExperiment *small_experiment (const char *context, gboolean si)
{
    int ctx_dim = g_str_equal (context, "task_id") ? TASKS : 784;
    g_autofree char *text = g_strdup_printf (
        "{\"name\": \"cl\", \"data\": {\"validation_split\": 0.0, \"normalize\": {\"mean\": "
        "[0.1306], \"std\": [0.3081]}},"
        " \"network\": {\"input\": [1, 28, 28], \"layers\": ["
        "{\"type\": \"flatten\"},"
        "{\"name\": \"fc1\", \"type\": \"active_dendrite\", \"out_features\": 128, "
        "\"weight_sparsity\": 0.5, \"segments\": %d, \"context_dim\": %d, \"context_density\": 0.1},"
        "{\"name\": \"kwta1\", \"type\": \"kwta\", \"percent_on\": 0.1},"
        "{\"name\": \"head\", \"type\": \"sparse_linear\", \"out_features\": 10, "
        "\"weight_sparsity\": 0.5, \"input_density\": 0.1}]},"
        " \"training\": {\"optimizer\": {\"type\": \"adam\", \"lr\": 0.002}, \"batch_size\": 128, "
        "\"seed\": 5},"
        " \"continual\": {\"tasks\": %d, \"epochs_per_task\": 1, \"context\": \"%s\", "
        "\"synaptic_intelligence\": %s, \"reset_optimizer\": %s, \"activity_samples\": 600}}",
        TASKS, ctx_dim, TASKS, context, si ? "{\"c\": 0.1, \"xi\": 0.1, \"first_task\": 1}" : "false",
        si ? "false" : "true");
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = json_from_string (text, &error);
    g_assert_no_error (error);
    DnExperiment *exp = dn_experiment_from_json (root, ".", "test", &error);
    g_assert_no_error (error);
    g_assert_true (exp->continual);
    return exp;
}

static void run_full (DnExperiment *exp, const char *out, const char *resume, int stop_at,
                      Seen *s)
{
    memset (s, 0, sizeof *s);
    s->stop_at_task = stop_at;
    s->writer = dn_run_writer_new ();
    DnRunOptions opts = {.out_dir = out, .threads = 2, .resume_dir = resume, .profile = TRUE};
    DnObserver obs = {.event = observe, .user_data = s, .cancel = &s->cancel};
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    gboolean ok = resume != NULL ? dn_experiment_resume (resume, &opts, &obs, &result, &error)
                                 : dn_experiment_run (exp, &opts, &obs, &result, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
    GError *werr = dn_run_writer_free (s->writer);
    g_assert_no_error (werr);
    if (!s->cancelled) {
        g_assert_cmpfloat (result.test_at_best_val, ==, s->average);
        g_autoptr (JsonNode) prof = json_from_string (result.profile_json, &error);
        g_assert_no_error (error);
        JsonObject *o = json_node_get_object (prof);
        s->idle_row_steps = json_object_get_double_member (o, "idle_row_steps");
        s->row_steps = json_object_get_double_member (o, "row_steps");
    }
    dn_run_result_clear (&result);
}

static void run (DnExperiment *exp, const char *out, Seen *s)
{
    run_full (exp, out, NULL, 0, s);
}

static void check_matrix (const Seen *s)
{
    g_assert_cmpint (s->n_tasks, ==, TASKS);
    g_assert_cmpint (s->n_epochs, ==, TASKS);
    g_assert_cmpint (s->n_done, ==, 1);
    for (int t = 0; t < TASKS; t++)
        for (int j = 0; j < TASKS; j++) {
            double v = s->matrix[t * TASKS + j];
            if (j <= t)
                g_assert_true (v > 40.0 && v <= 100.0); /* chance is 10 % */
            else
                g_assert_true (isnan (v));
        }
    double mean = 0.0;
    for (int j = 0; j < TASKS; j++)
        mean += s->matrix[(TASKS - 1) * TASKS + j] / TASKS;
    g_assert_cmpfloat_with_epsilon (s->average, mean, 1e-9);
}

/* The final models of two runs hold the same weights, to the bit. */
static void assert_same_weights (const char *run_dir, const char *out2)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *m1 = g_build_filename (run_dir, "final_model.safetensors", NULL);
    g_autofree char *m2 = g_build_filename (out2, "cl", "final_model.safetensors", NULL);
    g_autoptr (DnSafetensors) t1 = dn_safetensors_read (m1, &error);
    g_assert_no_error (error);
    g_autoptr (DnSafetensors) t2 = dn_safetensors_read (m2, &error);
    g_assert_no_error (error);
    static const char *const names[] = {"fc1.weight", "fc1.segments", "head.weight", NULL};
    for (int i = 0; names[i] != NULL; i++) {
        DnStTensor *a = dn_safetensors_find (t1, names[i]), *b = dn_safetensors_find (t2, names[i]);
        g_assert_nonnull (a);
        g_assert_nonnull (b);
        size_t n = (size_t) dn_shape_numel (&a->shape);
        g_assert_cmpint (dn_shape_numel (&b->shape), ==, (int64_t) n);
        g_assert_cmpint (memcmp (a->data, b->data, n * sizeof (float)), ==, 0);
    }
}

static void assert_same_matrix (const Seen *a, const Seen *b)
{
    for (int i = 0; i < TASKS * TASKS; i++)
        if (!isnan (a->matrix[i]))
            g_assert_cmpfloat (a->matrix[i], ==, b->matrix[i]);
}

static void test_prototype_run (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnExperiment) exp = small_experiment ("prototype", FALSE);
    Seen s;
    run (exp, dir, &s);
    check_matrix (&s);
    /* nearest-prototype task inference on permuted MNIST is essentially perfect */
    g_assert_cmpint (s.inferred_total, ==, (int64_t) 1996 * (1 + 2 + 3));
    g_assert_cmpint (s.inferred_ok, >=, s.inferred_total - 2);
    g_assert_cmpint (s.activity_units, ==, 128);
    g_assert_cmpfloat (s.activity0, >=, 0.0f);

    /* the run folder */
    g_autofree char *run_dir = g_build_filename (dir, "cl", NULL);
    static const char *const files[] = {"accuracy_matrix.csv", "accuracy_curves.png",
                                        "hidden_activity.png", "hidden_activity.csv",
                                        "summary.json",        "history.csv",
                                        "final_model.safetensors", "experiment.json", NULL};
    for (int i = 0; files[i] != NULL; i++) {
        g_autofree char *p = g_build_filename (run_dir, files[i], NULL);
        g_autofree char *contents = NULL;
        gsize len = 0;
        if (!g_file_get_contents (p, &contents, &len, NULL))
            g_error ("%s is missing", p);
        g_assert_cmpuint (len, >, 100);
    }
    g_autofree char *csv_path = g_build_filename (run_dir, "accuracy_matrix.csv", NULL);
    g_autofree char *csv = NULL;
    g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
    g_autofree char *want = dn_continual_matrix_csv (TASKS, s.matrix);
    g_assert_cmpstr (csv, ==, want);
    g_assert_true (g_str_has_prefix (csv, "after_task,task_0,task_1,task_2,mean\n0,"));
    g_auto (GStrv) lines = g_strsplit (csv, "\n", -1);
    g_assert_cmpint (g_strv_length (lines), ==, TASKS + 2);

    g_autofree char *sum_path = g_build_filename (run_dir, "summary.json", NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_assert_true (json_parser_load_from_file (parser, sum_path, &error));
    JsonObject *sum = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (sum, "average_accuracy"),
                                    s.average, 1e-9);
    g_assert_cmpint (json_array_get_length (json_object_get_array_member (sum, "accuracy_matrix")),
                     ==, TASKS);

    /* the saved model, evaluated on its own, gives the run's last row */
    {
        g_autofree char *model = g_build_filename (run_dir, "final_model.safetensors", NULL);
        g_autoptr (GHashTable) meta = NULL;
        g_autoptr (DnNetwork) net = dn_model_load (model, dn_backend_cpu (), &meta, &error);
        g_assert_no_error (error);
        g_autofree char *data = dn_test_data_path ("datasets/mnist-10k");
        g_autoptr (DnDataset) test = dn_dataset_load_idx_dir (data, "test", &error);
        g_assert_no_error (error);
        DnNormalize norm = {.n_channels = 1, .mean = {0.1306f}, .std = {0.3081f}};
        g_autofree double *per_task = NULL;
        int tasks = 0;
        double avg = 0.0;
        g_assert_true (dn_continual_evaluate (net, meta, model, test, &norm, 300, &per_task, &tasks,
                                              &avg, &error));
        g_assert_no_error (error);
        g_assert_cmpint (tasks, ==, TASKS);
        for (int j = 0; j < TASKS; j++)
            g_assert_cmpfloat (per_task[j], ==, s.matrix[(TASKS - 1) * TASKS + j]);
        g_assert_cmpfloat_with_epsilon (avg, s.average, 1e-9);
    }

    /* history.csv: the first row has the first epoch's loss and seconds */
    {
        g_autofree char *hp = g_build_filename (run_dir, "history.csv", NULL);
        g_autofree char *h = NULL;
        g_assert_true (g_file_get_contents (hp, &h, NULL, NULL));
        g_auto (GStrv) rows = g_strsplit (h, "\n", -1);
        g_assert_cmpstr (rows[0], ==, "task,epoch,loss,train_accuracy,test_accuracy,seconds,"
                                      "samples_per_s");
        g_auto (GStrv) f = g_strsplit (rows[1], ",", -1);
        g_assert_cmpuint (g_strv_length (f), ==, 7);
        g_assert_cmpfloat_with_epsilon (g_ascii_strtod (f[2], NULL), s.first_loss,
                                        1e-5 * s.first_loss);
        g_assert_cmpfloat_with_epsilon (g_ascii_strtod (f[5], NULL), s.first_seconds, 1e-3);
    }

    /* The same seed gives the same numbers, also when every batch recomputes every
     * segment response instead of only the rows the last step moved: the weights
     * are the same to the bit. */
    g_autofree char *dir2 = dn_test_tmpdir ();
    Seen s2;
    g_setenv ("DN_SEGMENT_REUSE", "0", TRUE);
    run (exp, dir2, &s2);
    g_unsetenv ("DN_SEGMENT_REUSE");
    assert_same_matrix (&s, &s2);
    assert_same_weights (run_dir, dir2);
    dn_test_tmpdir_remove (dir);
    dn_test_tmpdir_remove (dir2);
}

static void test_si_and_task_id (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnExperiment) exp = small_experiment ("task_id", TRUE);
    Seen s;
    run (exp, dir, &s);
    check_matrix (&s);
    g_assert_cmpint (s.inferred_total, ==, 0); /* the task id is given */
    dn_test_tmpdir_remove (dir);
}

static void test_needs_context (void)
{
    /* An active dendrite network trained without a continual section is refused. */
    g_autoptr (DnExperiment) exp = small_experiment ("prototype", FALSE);
    exp->continual = FALSE;
    g_autofree char *dir = dn_test_tmpdir ();
    DnRunOptions opts = {.out_dir = dir, .epochs = 1};
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_experiment_run (exp, &opts, NULL, &result, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "continual"));
    dn_test_tmpdir_remove (dir);

    /* A context that does not match the layers' context_dim is refused. */
    g_autoptr (DnExperiment) exp2 = small_experiment ("task_id", FALSE);
    exp2->cl.context = DN_CONTEXT_PROTOTYPE;
    g_autofree char *dir2 = dn_test_tmpdir ();
    g_clear_error (&error);
    DnRunOptions opts2 = {.out_dir = dir2};
    g_assert_false (dn_experiment_run (exp2, &opts2, NULL, &result, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "context_dim"));
    dn_test_tmpdir_remove (dir2);
}

/* Stopped during task 1, resumed from latest: the same matrix as a run that never
 * stopped, and the history keeps every task's rows once. With SI the optimizer
 * carries over between tasks and latest holds its state; without, it is reset
 * after each task and latest only says so. */
static void check_resume (gconstpointer si)
{
    g_autoptr (DnExperiment) exp = small_experiment ("prototype", GPOINTER_TO_INT (si));
    g_autofree char *dir = dn_test_tmpdir ();
    Seen whole;
    run (exp, dir, &whole);
    g_autofree char *dir2 = dn_test_tmpdir ();
    Seen part, rest;
    run_full (exp, dir2, NULL, 1, &part);
    g_assert_true (part.cancelled);
    g_assert_cmpint (part.n_tasks, ==, 1);
    g_autofree char *run_dir = g_build_filename (dir2, "cl", NULL);
    {
        g_autofree char *latest = g_build_filename (run_dir, "latest.safetensors", NULL);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnSafetensors) st = dn_safetensors_read (latest, &error);
        g_assert_no_error (error);
        gboolean has_state = dn_safetensors_find (st, "optimizer.step") != NULL;
        g_assert_cmpint (has_state, ==, GPOINTER_TO_INT (si));
        g_assert_cmpint (dn_safetensors_metadata (st, "dendrite_optimizer_fresh") == NULL, ==,
                         GPOINTER_TO_INT (si));
    }
    /* a kill while the writers wrote leaves their temporaries; resume removes them */
    static const char *const written[] = {"history.csv", "accuracy_matrix.csv", "summary.json",
                                          "latest.safetensors", "experiment.json"};
    for (guint i = 0; i < G_N_ELEMENTS (written); i++) {
        g_autofree char *path = g_build_filename (run_dir, written[i], NULL);
        g_autofree char *t = dn_file_temp_template (path);
        int fd = g_mkstemp (t);
        g_assert_cmpint (fd, >=, 0);
        close (fd);
    }
    run_full (NULL, NULL, run_dir, 0, &rest);
    {
        g_autoptr (GDir) d = g_dir_open (run_dir, 0, NULL);
        const char *name;
        while ((name = g_dir_read_name (d)) != NULL)
            g_assert_false (dn_file_is_temporary (name));
    }
    g_assert_false (rest.cancelled);
    g_assert_cmpint (rest.n_tasks, ==, TASKS - 1);
    for (int i = 0; i < TASKS * TASKS; i++)
        if (!isnan (whole.matrix[i]))
            g_assert_cmpfloat (rest.matrix[i], ==, whole.matrix[i]);
    g_assert_cmpfloat (rest.average, ==, whole.average);
    g_autofree char *h1 = NULL, *h2 = NULL;
    g_autofree char *p1 = g_build_filename (dir, "cl", "history.csv", NULL);
    g_autofree char *p2 = g_build_filename (run_dir, "history.csv", NULL);
    g_assert_true (g_file_get_contents (p1, &h1, NULL, NULL));
    g_assert_true (g_file_get_contents (p2, &h2, NULL, NULL));
    g_auto (GStrv) l1 = g_strsplit (h1, "\n", -1);
    g_auto (GStrv) l2 = g_strsplit (h2, "\n", -1);
    g_assert_cmpuint (g_strv_length (l1), ==, g_strv_length (l2));
    for (int i = 0; l1[i] != NULL; i++) { /* same task, epoch, loss and accuracies */
        g_auto (GStrv) f1 = g_strsplit (l1[i], ",", 6);
        g_auto (GStrv) f2 = g_strsplit (l2[i], ",", 6);
        for (int k = 0; k < 5 && f1[k] != NULL; k++)
            g_assert_cmpstr (f1[k], ==, f2[k]);
    }
    dn_test_tmpdir_remove (dir);
    dn_test_tmpdir_remove (dir2);
}

/* A damaged continual run state is an error naming the file and the member, never
 * a critical (fatal in tests) and never a resume; a folder in use is refused. */
static void test_resume_damaged (void)
{
    g_autoptr (DnExperiment) exp = small_experiment ("prototype", FALSE);
    g_autofree char *dir = dn_test_tmpdir ();
    Seen part;
    run_full (exp, dir, NULL, 1, &part);
    g_assert_true (part.cancelled);
    g_autofree char *run_dir = g_build_filename (dir, "cl", NULL);
    g_autofree char *latest = g_build_filename (run_dir, "latest.safetensors", NULL);
    g_autofree char *good = NULL;
    gsize good_len = 0;
    g_assert_true (g_file_get_contents (latest, &good, &good_len, NULL));
    static const struct {
        const char *find, *with, *fragment;
    } cases[] = {
        {NULL, NULL, "it is missing"},
        {"\"next_task\":", "\"next_task\":\"1\",\"n\":", "\"next_task\" is \"1\""},
        {"\"next_task\":", "\"next_task\":0,\"n\":", "\"next_task\" is 0"},
        {"\"next_task\":", "\"next_task\":99,\"n\":", "must be a whole number from 1 to 3"},
        {"\"seed\":", "\"seed\":-3,\"s\":", "\"seed\" is -3"},
        {"\"rng\":[", "\"rng\":7,\"r\":[", "\"rng\" is 7 but must be an array"},
        {"\"seconds\":", "\"seconds\":\"long\",\"x\":", "\"seconds\" is \"long\""},
        {"\"matrix\":[", "\"matrix\":[1,", "\"matrix\" has 10 elements but must have 9"},
        {",null", ",\"a\"", "element 1 of \"matrix\" must be a percentage"},
        {"\"matrix\":[", "\"matrix\":{},\"m\":[", "\"matrix\" is an object"},
        {"\"task_seconds\":[", "\"task_seconds\":[-1,", "element 0 of \"task_seconds\""},
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_assert_true (g_file_set_contents (latest, good, (gssize) good_len, NULL));
        dn_test_edit_metadata (latest, "dendrite_continual_run", cases[i].find, cases[i].with);
        DnRunOptions opts = {.threads = 2};
        DnRunResult result = {0};
        g_autoptr (GError) error = NULL;
        g_assert_false (dn_experiment_resume (run_dir, &opts, NULL, &result, &error));
        g_assert_nonnull (error);
        g_test_message ("%s", error->message);
        g_assert_true (g_str_has_prefix (error->message, latest));
        g_assert_nonnull (strstr (error->message, "\"dendrite_continual_run\" in the metadata"));
        g_assert_nonnull (strstr (error->message, cases[i].fragment));
    }
    /* undamaged but in use: refused, naming the process that holds it */
    g_assert_true (g_file_set_contents (latest, good, (gssize) good_len, NULL));
    g_autoptr (GError) error = NULL;
    g_autoptr (DnRunDir) held = dn_run_dir_open (run_dir, &error);
    g_assert_no_error (error);
    DnRunOptions opts = {.threads = 2};
    DnRunResult result = {0};
    g_assert_false (dn_experiment_resume (run_dir, &opts, NULL, &result, &error));
    g_autofree char *me = g_strdup_printf ("in use by process %ld on host ", (long) getpid ());
    g_assert_nonnull (strstr (error->message, me));
    g_clear_error (&error);
    /* and a new run of the same experiment goes beside it */
    DnRunOptions fresh = {.threads = 2, .out_dir = dir};
    exp->cl.tasks = 1;
    g_assert_true (dn_experiment_run (exp, &fresh, NULL, &result, &error));
    g_assert_no_error (error);
    g_autofree char *second = g_strconcat (run_dir, "-2", NULL);
    g_assert_cmpstr (result.run_dir, ==, second);
    dn_run_result_clear (&result);
    dn_test_tmpdir_remove (dir);
}

/* Synaptic Intelligence keeps one optimizer for the whole run, so segment rows that
 * won in an earlier task keep Adam state; once their first moment has decayed to
 * zero or to a subnormal that beta1 no longer shrinks, they are left out of the
 * steps (idle) and their second moment catches up when they win again or latest
 * is written. beta1 = 0.7 gets there within 300 steps (0.7 times the smallest
 * subnormal rounds back to it, as with the default 0.9). The weights must be those
 * of stepping every live row, also across a stop and --resume. */
static void test_idle_rows (void)
{
    g_autoptr (DnExperiment) exp = small_experiment ("prototype", TRUE);
    exp->optim.beta1 = 0.7;
    exp->cl.epochs_per_task = 3;
    g_autofree char *dir = dn_test_tmpdir ();
    Seen idle;
    run (exp, dir, &idle);
    g_assert_cmpint (idle.n_tasks, ==, TASKS);
    g_test_message ("row updates left out as idle: %.0f of %.0f", idle.idle_row_steps,
                    idle.row_steps);
    g_assert_cmpfloat (idle.idle_row_steps, >, 0.05 * idle.row_steps);
    g_assert_cmpfloat (idle.idle_row_steps, <, idle.row_steps);

    g_autofree char *dir2 = dn_test_tmpdir ();
    Seen all;
    g_setenv ("DN_IDLE_ROWS", "0", TRUE);
    run (exp, dir2, &all);
    g_unsetenv ("DN_IDLE_ROWS");
    g_assert_cmpfloat (all.idle_row_steps, ==, 0.0);
    assert_same_matrix (&idle, &all);
    g_autofree char *run_dir = g_build_filename (dir, "cl", NULL);
    assert_same_weights (run_dir, dir2);

    /* stopped in task 2, so latest (with idle rows settled) follows task 1 */
    g_autofree char *dir3 = dn_test_tmpdir ();
    Seen part, rest;
    run_full (exp, dir3, NULL, 2, &part);
    g_assert_true (part.cancelled);
    g_autofree char *run_dir3 = g_build_filename (dir3, "cl", NULL);
    run_full (NULL, NULL, run_dir3, 0, &rest);
    g_assert_cmpint (rest.n_tasks, ==, 1);
    assert_same_matrix (&idle, &rest);
    assert_same_weights (run_dir, dir3);
    dn_test_tmpdir_remove (dir);
    dn_test_tmpdir_remove (dir2);
    dn_test_tmpdir_remove (dir3);
}

/* --epochs sets the epochs of every task of a new run, and the run folder's copy of
 * the experiment says so; a resumed run cannot change them. */
static void test_epochs_option (void)
{
    g_autoptr (DnExperiment) exp = small_experiment ("prototype", FALSE);
    exp->cl.tasks = 2;
    g_autofree char *dir = dn_test_tmpdir ();
    Seen s;
    memset (&s, 0, sizeof s);
    s.writer = dn_run_writer_new ();
    DnRunOptions opts = {.out_dir = dir, .threads = 2, .epochs = 2};
    DnObserver obs = {.event = count_epochs, .user_data = &s, .cancel = &s.cancel};
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, &obs, &result, &error));
    g_assert_no_error (error);
    dn_run_result_clear (&result);
    g_assert_no_error (dn_run_writer_free (s.writer));
    g_assert_cmpint (s.n_epochs, ==, 2 * 2);
    g_autofree char *run_dir = g_build_filename (dir, "cl", NULL);
    g_autofree char *copy = g_build_filename (run_dir, "experiment.json", NULL);
    g_autoptr (DnExperiment) saved = dn_experiment_load (copy, &error);
    g_assert_no_error (error);
    g_assert_cmpint (saved->cl.epochs_per_task, ==, 2);
    DnRunOptions again = {.threads = 2, .epochs = 3};
    g_assert_false (dn_experiment_resume (run_dir, &again, NULL, &result, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "--epochs"));
    dn_test_tmpdir_remove (dir);
}

/* ---- the data of a continual run ------------------------------------------ */

static DnExperiment *tiny_experiment (const char *data, const char *normalize)
{
    g_autofree char *text = g_strdup_printf (
        "{\"name\": \"tiny\", \"data\": {\"path\": \"%s\", \"validation_split\": 0.0,"
        " \"normalize\": %s},"
        " \"network\": {\"input\": [1, 28, 28], \"layers\": [{\"type\": \"flatten\"},"
        "{\"name\": \"fc1\", \"type\": \"active_dendrite\", \"out_features\": 16, "
        "\"segments\": 2, \"context_dim\": 784, \"context_density\": 0.5},"
        "{\"name\": \"head\", \"type\": \"linear\", \"out_features\": 10}]},"
        " \"training\": {\"optimizer\": {\"type\": \"adam\", \"lr\": 0.002}, \"batch_size\": 8, "
        "\"seed\": 5},"
        " \"continual\": {\"tasks\": 2, \"epochs_per_task\": 1, \"activity_samples\": 10}}",
        data, normalize);
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = json_from_string (text, &error);
    g_assert_no_error (error);
    DnExperiment *exp = dn_experiment_from_json (root, ".", "tiny", &error);
    g_assert_no_error (error);
    return exp;
}

static void on_warning (const DnEvent *ev, gpointer data)
{
    if (ev->kind == DN_EVENT_LOG && strstr (ev->message, "warning") != NULL)
        g_ptr_array_add (data, g_strdup (ev->message));
}

/* Test images of another size than the training images are refused before a task
 * runs, and a saved model refuses to evaluate them. */
static void test_test_shape (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    dn_test_write_idx (dir, "train", 16, 28, 0);
    dn_test_write_idx (dir, "t10k", 8, 27, 0);
    g_autoptr (DnExperiment) exp = tiny_experiment (dir, "\"dataset\"");
    DnRunOptions opts = {.out_dir = dir, .threads = 2};
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_experiment_run (exp, &opts, NULL, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "t10k-images-idx3-ubyte"));
    g_assert_nonnull (strstr (error->message, "(1, 27, 27)"));
    g_assert_nonnull (strstr (error->message, "(1, 28, 28)"));
    dn_test_tmpdir_remove (dir);
}

/* "dataset" normalisation: measured on the training split, stored in the model
 * (the prototypes are built with it); no warning. Fixed MNIST constants on much
 * brighter images are reported with both pairs of numbers. A saved model refuses
 * test images of another size. */
static void test_dataset_normalize (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    dn_test_write_idx (dir, "train", 16, 28, 180);
    dn_test_write_idx (dir, "t10k", 8, 28, 180);
    g_autoptr (GError) error = NULL;
    g_autofree char *img = g_build_filename (dir, "train-images-idx3-ubyte", NULL);
    g_autofree char *lab = g_build_filename (dir, "train-labels-idx1-ubyte", NULL);
    g_autoptr (DnDataset) train = dn_dataset_load_idx (img, lab, &error);
    g_assert_no_error (error);
    DnNormalize own;
    dn_dataset_compute_normalize (train, &own);

    for (int fixed = 0; fixed < 2; fixed++) {
        g_autoptr (DnExperiment) exp = tiny_experiment (
            dir, fixed ? "{\"mean\": [0.1307], \"std\": [0.3081]}" : "\"dataset\"");
        g_autofree char *out = g_build_filename (dir, fixed ? "fixed" : "dataset", NULL);
        g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
        DnObserver obs = {.event = on_warning, .user_data = warnings};
        DnRunOptions opts = {.out_dir = out, .threads = 2};
        g_assert_true (dn_experiment_run (exp, &opts, &obs, NULL, &error));
        g_assert_no_error (error);
        g_autofree char *model = g_build_filename (out, "tiny", "final_model.safetensors", NULL);
        g_autoptr (GHashTable) meta = NULL;
        g_autoptr (DnNetwork) net = dn_model_load (model, dn_backend_cpu (), &meta, &error);
        g_assert_no_error (error);
        g_autoptr (JsonNode) n = json_from_string (g_hash_table_lookup (meta, "dendrite_normalize"),
                                                   &error);
        g_assert_no_error (error);
        JsonObject *o = json_node_get_object (n);
        double mean = json_array_get_double_element (json_object_get_array_member (o, "mean"), 0);
        double std = json_array_get_double_element (json_object_get_array_member (o, "std"), 0);
        if (!fixed) {
            g_assert_cmpuint (warnings->len, ==, 0);
            g_assert_cmpfloat_with_epsilon (mean, own.mean[0], 1e-6);
            g_assert_cmpfloat_with_epsilon (std, own.std[0], 1e-6);
        } else {
            g_assert_cmpuint (warnings->len, ==, 1);
            g_test_message ("%s", (char *) warnings->pdata[0]);
            g_assert_nonnull (strstr (warnings->pdata[0], "mean 0.1307, std 0.3081"));
            g_autofree char *theirs = g_strdup_printf ("(mean %.4g, std %.4g)", own.mean[0],
                                                       own.std[0]);
            g_assert_nonnull (strstr (warnings->pdata[0], theirs));
            g_assert_cmpfloat_with_epsilon (mean, 0.1307, 1e-6);
        }
        if (fixed)
            continue;
        /* the saved model and test images of another size */
        dn_test_write_idx (dir, "t10k", 8, 27, 0);
        g_autoptr (DnDataset) wrong = dn_dataset_load_idx_dir (dir, "test", &error);
        g_assert_no_error (error);
        g_autofree double *per_task = NULL;
        int tasks = 0;
        double avg = 0.0;
        DnNormalize norm = {.n_channels = 1, .mean = {(float) mean}, .std = {(float) std}};
        g_assert_false (dn_continual_evaluate (net, meta, "model", wrong, &norm, 4, &per_task,
                                               &tasks, &avg, &error));
        g_assert_error (error, DN_ERROR, DN_ERROR_SHAPE);
        g_assert_nonnull (strstr (error->message, "(1, 27, 27)"));
        g_clear_error (&error);
        dn_test_write_idx (dir, "t10k", 8, 28, 180);
    }
    dn_test_tmpdir_remove (dir);
}

/* "dendrite_continual" text: `head`, then `rows` prototypes of `len` values, with `bad` in
 * place of value 1 of prototype 0 when not NULL. */
static char *continual_meta (const char *head, int rows, int len, const char *bad)
{
    GString *s = g_string_new (head);
    g_string_append (s, "\"prototypes\": [");
    for (int t = 0; t < rows; t++) {
        g_string_append (s, t ? ",[" : "[");
        for (int i = 0; i < len; i++) {
            g_string_append (s, i ? "," : "");
            g_string_append (s, t == 0 && i == 1 && bad != NULL ? bad : "0.25");
        }
        g_string_append (s, "]");
    }
    g_string_append (s, "]}");
    return g_string_free (s, FALSE);
}

/* A saved continual model with damaged "dendrite_continual" metadata: each wrong type,
 * missing member or value out of range is an error naming the file and the member, with
 * no critical on the way (criticals are fatal here), and a good one evaluates. */
static void test_eval_damaged (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    dn_test_write_idx (dir, "t10k", 8, 28, 0);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) test = dn_dataset_load_idx_dir (dir, "test", &error);
    g_assert_no_error (error);
    g_autoptr (JsonNode) desc = json_from_string (
        "{\"input\": [1, 28, 28], \"layers\": [{\"type\": \"flatten\"},"
        "{\"name\": \"fc1\", \"type\": \"active_dendrite\", \"out_features\": 16, "
        "\"segments\": 2, \"context_dim\": 784, \"context_density\": 0.5},"
        "{\"name\": \"head\", \"type\": \"linear\", \"out_features\": 10}]}",
        &error);
    g_assert_no_error (error);
    g_autoptr (DnNetwork) net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    DnNormalize norm = {.n_channels = 1, .mean = {0.1307f}, .std = {0.3081f}};
    const char *good = "{\"tasks\": 2, \"permutation_seed\": 3, \"context\": \"prototype\", ";
    static const struct {
        const char *head;
        int rows, len;
        const char *bad;
        const char *needle;
    } cases[] = {
        {"[1, ", 0, 0, NULL, "not valid JSON"},
        {"{\"permutation_seed\": 3, \"context\": \"prototype\", ", 2, 784, NULL,
         "\"tasks\" is missing"},
        {"{\"tasks\": \"2\", \"permutation_seed\": 3, \"context\": \"prototype\", ", 2, 784, NULL,
         "\"tasks\" is"},
        {"{\"tasks\": 0, \"permutation_seed\": 3, \"context\": \"prototype\", ", 0, 0, NULL,
         "from 1 to 1000"},
        {"{\"tasks\": 1001, \"permutation_seed\": 3, \"context\": \"prototype\", ", 0, 0, NULL,
         "from 1 to 1000"},
        {"{\"tasks\": 2, \"permutation_seed\": -1, \"context\": \"prototype\", ", 2, 784, NULL,
         "\"permutation_seed\""},
        {"{\"tasks\": 2, \"permutation_seed\": 3, \"context\": 5, ", 2, 784, NULL,
         "\"context\" is"},
        {"{\"tasks\": 2, \"permutation_seed\": 3, ", 2, 784, NULL, "\"context\" is missing"},
        {"{\"tasks\": 2, \"permutation_seed\": 3, \"context\": \"task_id\", ", 0, 0, NULL,
         "contexts of 784 values"},
        {"{\"tasks\": 2, \"permutation_seed\": 3, \"context\": \"prototype\", ", 1, 784, NULL,
         "\"prototypes\" has 1 elements but must have 2"},
        {"{\"tasks\": 2, \"permutation_seed\": 3, \"context\": \"prototype\", ", 2, 3, NULL,
         "prototype 0 is not an array of 784 numbers"},
        {"{\"tasks\": 2, \"permutation_seed\": 3, \"context\": \"prototype\", ", 2, 784, "\"x\"",
         "value 1 of prototype 0"},
        {"{\"tasks\": 2, \"permutation_seed\": 3, \"context\": \"prototype\", ", 2, 784, "null",
         "must be a finite number"},
        {"{\"tasks\": 2, \"permutation_seed\": 3, \"context\": \"prototype\", ", 2, 784, "[1]",
         "value 1 of prototype 0"},
    };
    for (gsize i = 0; i <= G_N_ELEMENTS (cases); i++) {
        gboolean ok_case = i == G_N_ELEMENTS (cases);
        g_autofree char *text =
            ok_case ? continual_meta (good, 2, 784, NULL)
                    : continual_meta (cases[i].head, cases[i].rows, cases[i].len, cases[i].bad);
        g_autoptr (GHashTable) meta =
            g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
        g_hash_table_insert (meta, g_strdup ("dendrite_continual"), g_steal_pointer (&text));
        g_autofree double *per_task = NULL;
        int tasks = 0;
        double avg = 0.0;
        gboolean ok = dn_continual_evaluate (net, meta, "cl.safetensors", test, &norm, 4, &per_task,
                                             &tasks, &avg, &error);
        if (ok_case) {
            g_assert_no_error (error);
            g_assert_true (ok);
            g_assert_cmpint (tasks, ==, 2);
            g_assert_true (isfinite (avg));
            continue;
        }
        g_assert_false (ok);
        g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
        g_test_message ("%s", error->message);
        g_assert_true (g_str_has_prefix (error->message, "cl.safetensors: "));
        g_assert_nonnull (strstr (error->message, "dendrite_continual"));
        if (strstr (error->message, cases[i].needle) == NULL)
            g_error ("message \"%s\" does not mention \"%s\"", error->message, cases[i].needle);
        g_clear_error (&error);
    }
    /* no metadata at all: not a continual model */
    g_autoptr (GHashTable) none = g_hash_table_new (g_str_hash, g_str_equal);
    g_autofree double *per_task = NULL;
    int tasks = 0;
    double avg = 0.0;
    g_assert_false (dn_continual_evaluate (net, none, "cl.safetensors", test, &norm, 4, &per_task,
                                           &tasks, &avg, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "not written by a continual run"));
    dn_test_tmpdir_remove (dir);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/continual/prototype-run", test_prototype_run);
    g_test_add_func ("/engine/continual/si-and-task-id", test_si_and_task_id);
    g_test_add_func ("/engine/continual/needs-context", test_needs_context);
    g_test_add_func ("/engine/continual/idle-rows", test_idle_rows);
    g_test_add_func ("/engine/continual/epochs-option", test_epochs_option);
    g_test_add_func ("/engine/continual/test-shape", test_test_shape);
    g_test_add_func ("/engine/continual/dataset-normalize", test_dataset_normalize);
    g_test_add_func ("/engine/continual/resume-damaged", test_resume_damaged);
    g_test_add_func ("/engine/continual/eval-damaged", test_eval_damaged);
    g_test_add_data_func ("/engine/continual/resume-si", GINT_TO_POINTER (TRUE), check_resume);
    g_test_add_data_func ("/engine/continual/resume-reset-optimizer", GINT_TO_POINTER (FALSE),
                          check_resume);
    return g_test_run ();
}
