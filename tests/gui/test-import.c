/* test-import.c: opening a model file or a run folder in the app.
 *
 * A model opened in the app becomes a new experiment: its network, its
 * normalisation and a name taken from the file. The model is checked as
 * `dendrite eval` checks it, so every file the engine refuses gives the
 * engine's own message (std 0, NaN weights, a broken network description),
 * and a file name that cannot name a run folder is refused before the file
 * is read. In a window, a refused file is a dialog and the experiment that
 * was open stays. A run folder's picture reads only the header of its
 * latest.safetensors, whatever the size of the weights.
 *
 * The document tests need no display. The window test needs one; with
 * DN_TEST_NO_WINDOW set (the sanitizer build) it is skipped and GTK is
 * never started.
 */
#include "dn-document.h"
#include "dn-error.h"
#include "dn-json.h"
#include "dn-model.h"
#include "dn-onnx-actions.h"
#include "dn-onnx.h"
#include "dn-run-snapshot.h"
#include "dn-gui-test.h"
#include "dn-test-util.h"
#include "dn-trainer.h"
#include "dn-window.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define NET_1x2x2                                                                                  \
    "{\"input\": [1, 2, 2], \"layers\": [{\"type\": \"flatten\"}, {\"name\": \"fc\", "             \
    "\"type\": \"linear\", \"out_features\": 2}]}"

static DnNetwork *build (const char *desc)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = dn_json_parse (desc, -1, "test network", &error);
    g_assert_no_error (error);
    DnNetwork *net = dn_network_new_from_json (root, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    return net;
}

/* Saves `net` as dir/file with key = value in its metadata (key may be NULL). */
static char *save_model (DnNetwork *net, const char *dir, const char *file, const char *key,
                         const char *value)
{
    g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
    if (key != NULL)
        g_hash_table_insert (meta, (char *) key, (char *) value);
    char *path = g_build_filename (dir, file, NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_model_save (net, path, meta, &error));
    g_assert_no_error (error);
    return path;
}

static DnDocument *open_path (const char *path, GError **error)
{
    g_autoptr (GFile) f = g_file_new_for_path (path);
    return dn_document_new_from_file (f, error);
}

/* No raw control character, escape or bidirectional override reaches a message. */
static void assert_tame (const char *message)
{
    g_assert_true (g_utf8_validate (message, -1, NULL));
    for (const char *p = message; *p != '\0'; p = g_utf8_next_char (p)) {
        gunichar c = g_utf8_get_char (p);
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
            (c >= 0x2066 && c <= 0x2069))
            g_test_fail_printf ("message \"%s\" holds U+%04X raw", message, (guint) c);
    }
}

/* ---- a good model ---- */

static void test_good_model (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnNetwork) net = build (NET_1x2x2);
    g_autofree char *path = save_model (net, dir, "digits v2.safetensors", "dendrite_normalize",
                                        "{\"mean\": [0.25], \"std\": [0.5]}");
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDocument) doc = open_path (path, &error);
    g_assert_no_error (error);
    DnExperiment *exp = dn_document_get_experiment (doc);
    g_assert_cmpstr (exp->name, ==, "digits v2");
    g_assert_null (dn_document_get_file (doc)); /* a new experiment: Save asks where */
    g_assert_true (dn_document_get_modified (doc));
    g_assert_false (exp->normalize_from_data);
    g_assert_cmpint (exp->normalize.n_channels, ==, 1);
    g_assert_cmpfloat (exp->normalize.mean[0], ==, 0.25f);
    g_assert_cmpfloat (exp->normalize.std[0], ==, 0.5f);
    const DnNetworkInfo *info = dn_document_get_network_info (doc);
    g_assert_true (info->ok);
    g_assert_cmpuint (dn_document_n_layers (doc), ==, 2);
    g_assert_cmpint (info->total_params, ==, 4 * 2 + 2);
    /* the flatten layer, unnamed in the file, has the name the engine gave it */
    g_assert_cmpstr (json_object_get_string_member (dn_document_get_layer (doc, 0), "name"), ==,
                     "flatten1");
    g_assert_cmpstr (json_object_get_string_member (dn_document_get_layer (doc, 1), "name"), ==,
                     "fc");

    /* without "dendrite_normalize" the experiment computes it from its data */
    g_autofree char *plain = save_model (net, dir, "plain.safetensors", NULL, NULL);
    g_autoptr (DnDocument) doc2 = open_path (plain, &error);
    g_assert_no_error (error);
    g_assert_true (dn_document_get_experiment (doc2)->normalize_from_data);
    dn_test_tmpdir_remove (dir);
}

/* ---- models the engine refuses: the app says what `dendrite eval` says ---- */

typedef struct {
    const char *key, *value; /* metadata; key NULL: a NaN weight */
    int code;
    const char *needle;
} BadModel;

static void test_refused_like_eval (void)
{
    static const BadModel cases[] = {
        {"dendrite_normalize", "{\"mean\": [0.1], \"std\": [0]}", DN_ERROR_CONFIG,
         "its std is not positive"},
        {"dendrite_normalize", "{\"mean\": [NaN], \"std\": [1]}", DN_ERROR_FORMAT,
         "not valid JSON"},
        {"dendrite_normalize", "{\"mean\": [null], \"std\": [1]}", DN_ERROR_CONFIG, "finite"},
        {"dendrite_normalize", "{\"mean\": [1e39], \"std\": [1]}", DN_ERROR_CONFIG,
         "does not fit a float"},
        {"dendrite_normalize", "{\"mean\": [0, 0, 0], \"std\": [1, 1, 1]}", DN_ERROR_FORMAT,
         "gives 3 channels"},
        {"dendrite_normalize", "{\"mean\": [0.1], \"std\": [0.3], \"scale\": 255}", DN_ERROR_CONFIG,
         "unknown field \"scale\""},
        {"dendrite_normalize", "[0.1, 0.3]", DN_ERROR_CONFIG, "\"normalize\" must be"},
        {"dendrite_optimizer_steps", "-1", DN_ERROR_FORMAT, "whole number"},
        {"dendrite_run", "[1]", DN_ERROR_FORMAT, "not a JSON object"},
        {NULL, NULL, DN_ERROR_NUMERIC, "\"fc.weight\" holds 1 value that is not finite"},
    };
    g_autofree char *dir = dn_test_tmpdir ();
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        const BadModel *c = &cases[i];
        g_autoptr (DnNetwork) net = build (NET_1x2x2);
        if (c->key == NULL)
            net->params[3] = NAN;
        g_autofree char *file = g_strdup_printf ("bad-%" G_GSIZE_FORMAT ".safetensors", i);
        g_autofree char *path = save_model (net, dir, file, c->key, c->value);

        /* what `dendrite eval` runs: dn_model_load, then dn_model_normalize */
        g_autoptr (GError) eval_error = NULL;
        g_autoptr (GHashTable) meta = NULL;
        g_autoptr (DnNetwork) loaded = dn_model_load (path, dn_backend_cpu (), &meta, &eval_error);
        g_assert_null (loaded);
        g_assert_nonnull (eval_error);

        g_autoptr (GError) error = NULL;
        g_autoptr (DnDocument) doc = open_path (path, &error);
        g_assert_null (doc);
        g_test_message ("%s", error != NULL ? error->message : "(no error)");
        g_assert_error (error, DN_ERROR, c->code);
        g_assert_cmpstr (error->message, ==, eval_error->message);
        g_assert_nonnull (strstr (error->message, path));
        if (strstr (error->message, c->needle) == NULL)
            g_test_fail_printf ("message \"%s\" does not say \"%s\"", error->message, c->needle);
    }
    dn_test_tmpdir_remove (dir);
}

/* A safetensors file that is not a Dendrite model, and broken network descriptions. */
static void test_refused_network (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    static const struct {
        const char *desc; /* NULL: no "dendrite_network" at all */
        const char *needle;
    } cases[] = {
        {NULL, "no network description"},
        {"{\"input\": [4], \"layers\": [", "not valid JSON"},
        {"{\"input\": [4], \"layers\": [{\"type\": \"linear\"}]}", "out_features"},
        {"{\"input\": [4], \"layers\": [{\"name\": \"a\\u001b[2J\", \"type\": \"relu\"}]}",
         "\\u001b"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        const float w = 1.0f;
        const DnStWrite t = {"x", dn_shape_1d (1), &w};
        g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
        if (cases[i].desc != NULL)
            g_hash_table_insert (meta, (char *) "dendrite_network", (char *) cases[i].desc);
        g_autofree char *file = g_strdup_printf ("net-%" G_GSIZE_FORMAT ".safetensors", i);
        g_autofree char *path = g_build_filename (dir, file, NULL);
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_safetensors_write (path, &t, 1, meta, &error));

        g_autoptr (GError) eval_error = NULL;
        g_autoptr (DnNetwork) loaded = dn_model_load (path, dn_backend_cpu (), NULL, &eval_error);
        g_assert_null (loaded);
        g_autoptr (DnDocument) doc = open_path (path, &error);
        g_assert_null (doc);
        g_test_message ("%s", error->message);
        g_assert_cmpstr (error->message, ==, eval_error->message);
        if (strstr (error->message, cases[i].needle) == NULL)
            g_test_fail_printf ("message \"%s\" does not say \"%s\"", error->message,
                                cases[i].needle);
        assert_tame (error->message);
    }
    dn_test_tmpdir_remove (dir);
}

/* ---- file names that cannot name the experiment ---- */

static void test_refused_name (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *long_name = g_strnfill (129, 'm');
    g_autofree char *long_file = g_strconcat (long_name, ".safetensors", NULL);
    const struct {
        const char *file;
        const char *needle;
    } cases[] = {
        {"red\x1b[31m.safetensors", "\"red\\u001b[31m\" contains the control character U+001B"},
        {"evil\xe2\x80\xaegnp.safetensors", "contains the control character U+202E"},
        {"line\nbreak.safetensors", "U+000A"},
        {long_file, "has 129 characters; names hold at most 128"},
        {"-rf.safetensors", "\"-rf\" is used as a folder name"},
        {"...safetensors", "\"..\" is used as a folder name"},
        {".safetensors", "is empty"},
    };
    g_autoptr (DnNetwork) net = build (NET_1x2x2);
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = save_model (net, dir, cases[i].file, NULL, NULL);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnDocument) doc = open_path (path, &error);
        g_assert_null (doc);
        g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
        g_test_message ("%s", error->message);
        g_assert_true (g_str_has_prefix (error->message, "The imported experiment's name (the "
                                                         "model file's name)"));
        if (strstr (error->message, cases[i].needle) == NULL)
            g_test_fail_printf ("message \"%s\" does not say \"%s\"", error->message,
                                cases[i].needle);
        assert_tame (error->message);
        g_unlink (path);
    }
    /* 128 characters is a name */
    long_name[128] = '\0';
    g_autofree char *ok_file = g_strconcat (long_name, ".safetensors", NULL);
    g_autofree char *ok_path = save_model (net, dir, ok_file, NULL, NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDocument) doc = open_path (ok_path, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (dn_document_get_experiment (doc)->name, ==, long_name);
    dn_test_tmpdir_remove (dir);
}

/* ---- a run folder's picture: metadata only ---- */

static long peak_rss_kib (void)
{
    struct rusage ru;
    g_assert_cmpint (getrusage (RUSAGE_SELF, &ru), ==, 0);
    return ru.ru_maxrss;
}

/* latest.safetensors with 256 MiB of weights (a sparse file: no disk is used)
 * and the run's counters. Reading the weights would raise the peak memory by
 * twice that (the mapped file and its floats); the picture needs neither. */
static void run_folder_header_only (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    const guint64 numel = (guint64) 64 << 20, bytes = numel * sizeof (float);
    g_autofree char *header = g_strdup_printf (
        "{\"__metadata__\":{\"dendrite_run\":\"{\\\"epoch\\\": 3, \\\"best_val\\\": 91.5, "
        "\\\"test_at_best\\\": 90.25, \\\"best_epoch\\\": 2}\"},\"w\":{\"dtype\":\"F32\","
        "\"shape\":[%" G_GUINT64_FORMAT "],\"data_offsets\":[0,%" G_GUINT64_FORMAT "]}}",
        numel, bytes);
    gsize hlen = strlen (header);
    guint64 le = GUINT64_TO_LE ((guint64) hlen);
    g_autofree guint8 *head = g_malloc (8 + hlen);
    memcpy (head, &le, 8);
    memcpy (head + 8, header, hlen);
    g_autofree char *latest = dn_test_write_file (dir, "latest.safetensors", head, 8 + hlen);
    g_assert_cmpint (truncate (latest, (off_t) (8 + hlen + bytes)), ==, 0);

    long before = peak_rss_kib ();
    g_autoptr (GError) error = NULL;
    DnRunSnapshot *s = dn_run_snapshot_new_from_folder (dir, &error);
    long grown = peak_rss_kib () - before;
    g_assert_no_error (error);
    g_assert_cmpint (s->epoch, ==, 3);
    g_assert_cmpfloat (s->best_val, ==, 91.5);
    g_assert_cmpfloat (s->test_at_best, ==, 90.25);
    g_assert_cmpint (s->best_epoch, ==, 2);
    g_assert_cmpint (s->state, ==, DN_RUN_STOPPED);
    dn_run_snapshot_unref (s);
    g_test_message ("peak memory grew by %ld KiB", grown);
    g_assert_cmpint (grown, <, 64 * 1024);
    dn_test_tmpdir_remove (dir);
}

/* In a process of its own, so that no earlier test's peak hides this one's. */
static void test_run_folder_header_only (void)
{
    if (g_test_subprocess ()) {
        run_folder_header_only ();
        return;
    }
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
}

/* ---- in a window: a dialog, and the open experiment stays ---- */

/* One registered application for the window tests (a second one in the process would
 * export the same object path on the session bus). */
static DnApplication *window_app (void)
{
    static DnApplication *app = NULL;
    if (app == NULL) {
        app = dn_application_new ();
        g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
        g_autoptr (GError) error = NULL;
        g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
        g_assert_no_error (error);
    }
    return app;
}

/* A file name with an escape sequence and a right-to-left override reaches the "Could Not
 * Open" heading written out, never as the characters themselves. */
static void check_hostile_heading (DnWindow *win, const char *dir)
{
    g_autofree char *path =
        dn_test_write_file (dir, "x\033[31m\u202eredro.json", "{\"name\": ", 10);
    g_autoptr (GFile) file = g_file_new_for_path (path);
    dn_window_open_file (win, file);
    for (int i = 0; i < 20; i++)
        g_main_context_iteration (NULL, FALSE);
    AdwMessageDialog *dialog = dn_gui_test_find_dialog (GTK_WINDOW (win));
    g_assert_nonnull (dialog);
    const char *heading = adw_message_dialog_get_heading (dialog);
    g_test_message ("%s", heading);
    g_assert_null (strchr (heading, '\033'));
    g_assert_null (strstr (heading, "\u202e"));
    g_assert_nonnull (strstr (heading, "x\\u001b[31m\\u202eredro.json"));
    gtk_window_destroy (GTK_WINDOW (dialog));
}

static void test_window_keeps_document (void)
{
    if (g_getenv ("DN_TEST_NO_WINDOW") != NULL) {
        g_test_skip ("DN_TEST_NO_WINDOW is set");
        return;
    }
    g_autofree char *dir = dn_test_tmpdir ();
    DnApplication *app = window_app ();
    g_autoptr (GError) error = NULL;
    DnWindow *win = dn_window_new (app);
    gtk_window_present (GTK_WINDOW (win));
    g_autofree char *tpl = dn_test_data_path ("examples/mlp.json");
    DnExperiment *exp = dn_experiment_load (tpl, &error);
    g_assert_no_error (error);
    dn_window_set_document (win, dn_document_new (exp, NULL));
    DnDocument *before = dn_window_get_document (win);
    guint layers_before = dn_document_n_layers (before);

    g_autoptr (DnNetwork) net = build (NET_1x2x2);
    g_autofree char *path = save_model (net, dir, "std0.safetensors", "dendrite_normalize",
                                        "{\"mean\": [0.1], \"std\": [0]}");
    g_autoptr (GFile) file = g_file_new_for_path (path);
    dn_window_open_file (win, file);
    for (int i = 0; i < 20; i++)
        g_main_context_iteration (NULL, FALSE);

    /* the window is up, with the experiment it had */
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (win)));
    g_assert_true (dn_window_get_document (win) == before);
    g_assert_cmpuint (dn_document_n_layers (before), ==, layers_before);
    /* and a dialog says what the engine says */
    AdwMessageDialog *dialog = dn_gui_test_find_dialog (GTK_WINDOW (win));
    g_assert_nonnull (dialog);
    g_autoptr (GError) eval_error = NULL;
    g_autoptr (DnNetwork) loaded = dn_model_load (path, dn_backend_cpu (), NULL, &eval_error);
    g_assert_null (loaded);
    g_assert_cmpstr (adw_message_dialog_get_body (dialog), ==, eval_error->message);
    g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "std is not positive"));
    gtk_window_destroy (GTK_WINDOW (dialog));
    check_hostile_heading (win, dir);
    gtk_window_destroy (GTK_WINDOW (win));
    dn_test_tmpdir_remove (dir);
}

/* ---- Export as ONNX… ---- */

static GtkFileChooser *find_file_chooser (void)
{
    GListModel *tops = gtk_window_get_toplevels ();
    for (guint i = 0; i < g_list_model_get_n_items (tops); i++) {
        g_autoptr (GtkWindow) w = g_list_model_get_item (tops, i);
        if (GTK_IS_FILE_CHOOSER (w) && gtk_widget_get_visible (GTK_WIDGET (w)))
            return GTK_FILE_CHOOSER (w);
    }
    return NULL;
}

static void on_finished (DnTrainer *t, DnRunSnapshot *s, DnRunSnapshot **out)
{
    *out = dn_run_snapshot_ref (s);
}

/* A one-epoch run of the MLP template without normalisation (a model import reads
 * back whole) in runs/; returns its folder. */
static char *train_plain_run (const char *runs)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *tpl = dn_test_data_path ("examples/mlp.json");
    DnExperiment *exp = dn_experiment_load (tpl, &error);
    g_assert_no_error (error);
    exp->epochs = 1;
    exp->normalize_from_data = FALSE;
    exp->normalize = (DnNormalize){.n_channels = 1, .mean = {0.0f}, .std = {1.0f}};
    DnTrainerOptions opts = {.out_dir = g_strdup (runs), .threads = 2};
    g_autoptr (DnTrainer) trainer = dn_trainer_new ();
    DnRunSnapshot *final = NULL;
    g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), &final);
    g_assert_true (dn_trainer_start (trainer, exp, &opts, &error));
    g_assert_no_error (error);
    gint64 until = g_get_monotonic_time () + 600 * G_TIME_SPAN_SECOND;
    while (final == NULL && g_get_monotonic_time () < until)
        g_main_context_iteration (NULL, TRUE);
    g_assert_nonnull (final);
    g_assert_cmpint (final->state, ==, DN_RUN_FINISHED);
    char *dir = g_strdup (final->run_dir);
    dn_run_snapshot_unref (final);
    dn_trainer_options_clear (&opts);
    return dir;
}

static float *outputs (DnNetwork *net, const float *x, int batch)
{
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (net, batch, &error));
    dn_network_set_training (net, FALSE);
    const DnTensor *y = dn_network_forward (net, x, batch, 0);
    return g_memdup2 (y->data, (gsize) dn_tensor_numel (y) * sizeof (float));
}

/* The run open in the window, exported through its menu action and the file chooser
 * (which starts in the runs folder), is an ONNX model the engine's reader imports, with
 * the run's best model's outputs; a model with k-WTA is a dialog saying why not. */
static void test_export_onnx (void)
{
    if (g_getenv ("DN_TEST_NO_WINDOW") != NULL) {
        g_test_skip ("DN_TEST_NO_WINDOW is set");
        return;
    }
    if (!dn_onnx_available ()) {
        g_test_skip ("this build reads and writes no ONNX (protobuf-c missing)");
        return;
    }
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *runs = g_build_filename (dir, "runs", NULL);
    DnApplication *app = window_app ();
    g_autoptr (GError) error = NULL;
    GSettings *settings = dn_application_get_settings (app);
    g_assert_nonnull (settings);
    g_settings_set_string (settings, "output-folder", runs);
    g_autofree char *run_dir = train_plain_run (runs);
    DnWindow *win = dn_window_new (app);
    gtk_window_present (GTK_WINDOW (win));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.open-run", "s", run_dir));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.export-onnx", NULL));
    GtkFileChooser *chooser = g_object_get_data (G_OBJECT (win), DN_ONNX_ACTIONS_CHOOSER);
    g_assert_nonnull (chooser);
    /* the dialog a person sees (no portal here): NAME.onnx in the runs folder */
    GtkFileChooser *shown = find_file_chooser ();
    g_assert_nonnull (shown);
    g_assert_cmpstr (gtk_file_chooser_get_current_name (shown), ==, "mlp.onnx");
    g_autofree char *start = NULL;
    gint64 until = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
    while (start == NULL && g_get_monotonic_time () < until) {
        g_main_context_iteration (NULL, FALSE);
        g_autoptr (GFile) f = gtk_file_chooser_get_current_folder (shown);
        start = f != NULL ? g_file_get_path (f) : NULL;
    }
    g_assert_cmpstr (start, ==, runs);
    /* a name typed, Export clicked */
    g_autofree char *path = g_build_filename (runs, "exported.onnx", NULL);
    gtk_file_chooser_set_current_name (shown, "exported.onnx");
    gtk_dialog_response (GTK_DIALOG (shown), GTK_RESPONSE_ACCEPT);
    until = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
    while (g_object_get_data (G_OBJECT (win), DN_ONNX_ACTIONS_CHOOSER) != NULL &&
           g_get_monotonic_time () < until)
        g_main_context_iteration (NULL, FALSE);
    g_assert_null (g_object_get_data (G_OBJECT (win), DN_ONNX_ACTIONS_CHOOSER));
    g_assert_null (find_file_chooser ());
    g_assert_null (dn_gui_test_find_dialog (GTK_WINDOW (win)));
    g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

    /* the engine's reader imports it, and it computes what the run's best model does */
    g_autoptr (DnNetwork) back = dn_onnx_import (path, dn_backend_cpu (), NULL, &error);
    g_assert_no_error (error);
    g_autofree char *best = g_build_filename (run_dir, "best_model.safetensors", NULL);
    g_autoptr (DnNetwork) model = dn_model_load (best, dn_backend_cpu (), NULL, &error);
    g_assert_no_error (error);
    int batch = 3;
    gsize n = (gsize) batch * dn_shape_numel (&model->input_shape);
    g_autofree float *x = g_new (float, n);
    for (gsize i = 0; i < n; i++)
        x[i] = (float) ((i * 37) % 101) / 100.0f;
    g_autofree float *a = outputs (model, x, batch);
    g_autofree float *b = outputs (back, x, batch);
    for (int i = 0; i < batch * 10; i++)
        g_assert_cmpfloat (fabsf (a[i] - b[i]), <=, 1e-5f * MAX (1.0f, fabsf (a[i])));

    /* a run whose model has a k-WTA layer: a dialog that names the layer, no file */
    g_autofree char *kdir = g_build_filename (dir, "kwta-run", NULL);
    g_assert_cmpint (g_mkdir_with_parents (kdir, 0755), ==, 0);
    g_autoptr (DnNetwork) kwta = build ("{\"input\": [8], \"layers\": [{\"name\": \"fc\", "
                                        "\"type\": \"linear\", \"out_features\": 4}, "
                                        "{\"name\": \"k\", \"type\": \"kwta\", \"k\": 2}]}");
    g_autofree char *kmodel = save_model (kwta, kdir, "best_model.safetensors", NULL, NULL);
    g_autoptr (DnRunSnapshot) snap = dn_run_snapshot_new ();
    snap->run_dir = g_strdup (kdir);
    g_autofree char *kpath = g_build_filename (dir, "kwta.onnx", NULL);
    g_assert_false (dn_onnx_actions_export_to (win, snap, kpath));
    g_assert_false (g_file_test (kpath, G_FILE_TEST_EXISTS));
    AdwMessageDialog *dialog = dn_gui_test_find_dialog (GTK_WINDOW (win));
    g_assert_nonnull (dialog);
    g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Could Not Export as ONNX");
    g_test_message ("%s", adw_message_dialog_get_body (dialog));
    g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "layer 'k' (kwta)"));
    gtk_window_destroy (GTK_WINDOW (dialog));
    gtk_window_destroy (GTK_WINDOW (win));
    dn_test_tmpdir_remove (dir);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    if (g_getenv ("DN_TEST_NO_WINDOW") == NULL) {
        if (!gtk_init_check ()) {
            g_print ("1..0 # SKIP no display\n");
            return 77;
        }
        adw_init ();
    }
    g_test_add_func ("/app/import/good-model", test_good_model);
    g_test_add_func ("/app/import/refused-like-eval", test_refused_like_eval);
    g_test_add_func ("/app/import/refused-network", test_refused_network);
    g_test_add_func ("/app/import/refused-name", test_refused_name);
    g_test_add_func ("/app/import/window-keeps-document", test_window_keeps_document);
    g_test_add_func ("/app/run-folder/header-only", test_run_folder_header_only);
    g_test_add_func ("/app/onnx/export", test_export_onnx);
    return g_test_run ();
}
