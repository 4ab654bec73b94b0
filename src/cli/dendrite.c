/* dendrite: the command-line front end of the engine.
 *
 *   dendrite train EXPERIMENT.json [options]   train, save the best model
 *   dendrite train EXPERIMENT.json --init MODEL   the same, starting from a model's weights
 *   dendrite eval MODEL --data DIR [--json] [--confusion FILE.csv]
 *                                              accuracy and loss (and the confusion matrix)
 *                                              on a test set
 *   dendrite inspect MODEL|EXPERIMENT          the layers, shapes and parameters
 *   dendrite import MODEL.onnx --out DIR       an ONNX model as an experiment and model
 *   dendrite export MODEL -o MODEL.onnx        a model (with its dendrites) as ONNX
 *
 * --verbose (before or after the command) prints which OpenBLAS kernels run and why.
 * Exit status: 0 success, 1 the run failed (the message says why), 2 usage.
 */
#include "dn-blas.h"
#include "dn-cli.h"
#include "dn-confusion-files.h"
#include "dn-continual.h"
#include "dn-run-writer.h"
#include "dn-error.h"
#include "dn-dendrite.h"
#include "dn-model.h"
#include "dn-model-eval.h"
#include "dn-run.h"

#include "dn-config.h"

#include <locale.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile gint cancel_flag = 0;
static gboolean verbose = FALSE;

static const GOptionEntry verbose_entry = {
    "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Say on stderr which BLAS kernels run and why",
    NULL};

/* After a command's options are parsed: --verbose tells which kernels run. */
static void say_blas (const char *cmd)
{
    if (!verbose)
        return;
    g_autofree char *line = dn_blas_describe ();
    fprintf (stderr, "dendrite %s: %s\n", cmd, line);
}

static void on_sigint (int sig)
{
    if (cancel_flag)
        _exit (130); /* a second Ctrl-C: stop now */
    cancel_flag = 1;
}

static int usage_error (GOptionContext *ctx, const char *cmd, const char *msg)
{
    g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
    fprintf (stderr, "dendrite %s: %s\n\n%s", cmd, msg, help);
    return 2;
}

static int fail (const char *cmd, GError *error)
{
    fprintf (stderr, "dendrite %s: %s\n", cmd, error->message);
    return 1;
}

static int cmd_train (int argc, char **argv)
{
    g_autofree char *data = NULL, *out = NULL, *device = NULL, *resume = NULL, *init = NULL;
    int epochs = 0, threads = 0;
    gint64 seed = -1;
    gboolean json = FALSE, overwrite = FALSE;
    GOptionEntry entries[] = {
        {"data", 0, 0, G_OPTION_ARG_FILENAME, &data, "Data folder (IDX) or CSV file", "DIR"},
        {"out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Output folder (default: the experiment's)",
         "DIR"},
        {"epochs", 0, 0, G_OPTION_ARG_INT, &epochs,
         "Number of epochs (the most, with dendrites; per task in a continual run)", "N"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed", "N"},
        {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "CPU threads (default: all cores)", "N"},
        {"device", 0, 0, G_OPTION_ARG_STRING, &device,
         "cpu, cuda, cuda:N, auto, or check (the CPU, checking every pointer an op receives)", "DEVICE"},
        {"resume", 0, 0, G_OPTION_ARG_FILENAME, &resume,
         "Continue the run in RUN_DIR from its latest checkpoint", "RUN_DIR"},
        {"init", 0, 0, G_OPTION_ARG_FILENAME, &init,
         "Start from the weights of MODEL (a network like the experiment's; with dendrites, "
         "its neurons)",
         "MODEL"},
        {"overwrite", 0, 0, G_OPTION_ARG_NONE, &overwrite,
         "Replace the earlier run in OUT/NAME (default: a new OUT/NAME-N beside it)", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per line on stdout", NULL},
        verbose_entry,
        {NULL},
    };
    g_autoptr (GOptionContext) ctx =
        g_option_context_new ("EXPERIMENT.json | --resume RUN_DIR - train a network");
    g_option_context_set_summary (
        ctx, "Trains the network of an experiment file. Files go to OUT/NAME/: best_model and\n"
             "latest checkpoints, the Perforated AI tables and graph of the run's history, and\n"
             "with dendrites their snapshots and the beforeSwitch_N, switch_N and\n"
             "final_clean_pai checkpoints. When OUT/NAME holds an earlier run,\n"
             "the new one goes to OUT/NAME-2 (-3, ...); --overwrite replaces the earlier run\n"
             "instead. Ctrl-C stops after the current batch; --resume continues a stopped or\n"
             "killed run. Two runs never share a folder: a folder in use is refused.\n"
             "--init MODEL starts from a trained model's weights instead of random ones: its\n"
             "network must match the experiment's (the error names the first difference);\n"
             "with a \"dendrites\" section the model's layers become the starting neurons.");
    g_option_context_add_main_entries (ctx, entries, NULL);
    g_autoptr (GError) error = NULL;
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return usage_error (ctx, "train", error->message);
    say_blas ("train");
    if (resume != NULL ? argc != 1 : argc != 2)
        return usage_error (ctx, "train",
                            resume != NULL ? "give either an experiment file or --resume"
                            : argc < 2     ? "give one experiment file"
                                           : "give only one experiment file");
    if (epochs < 0 || threads < 0)
        return usage_error (ctx, "train", "--epochs and --threads must be positive");
    if (seed < -1)
        return usage_error (ctx, "train", "--seed must be 0 or more");
    if (resume != NULL && overwrite)
        return usage_error (ctx, "train",
                            "--resume continues the run in its folder and --overwrite starts a "
                            "new one over it; give one of them");
    if (resume != NULL && init != NULL)
        return usage_error (ctx, "train",
                            "--resume continues a run from its own checkpoint; --init starts a "
                            "new one from a model; give one of them");
    if (resume != NULL && (data != NULL || out != NULL || seed >= 0))
        return usage_error (ctx, "train",
                            "--resume continues a run as it was set up; --data, --out and --seed "
                            "cannot change it");

    g_autoptr (DnExperiment) exp = NULL;
    if (resume == NULL) {
        exp = dn_experiment_load (argv[1], &error);
        if (exp == NULL)
            return fail ("train", error);
    }
    DnRunOptions opts = {0};
    opts.data_path = data;
    opts.out_dir = out;
    opts.epochs = epochs;
    opts.seed_set = seed >= 0;
    opts.seed = seed >= 0 ? (guint64) seed : 0;
    opts.threads = threads;
    opts.device = device;
    opts.resume_dir = resume;
    opts.overwrite = overwrite;
    opts.init_model = init;

    DnCliProgress progress = {.out = stdout, .tty = isatty (STDOUT_FILENO)};
    DnCliObserver cli = {0};
    cli.json = json;
    cli.progress = &progress;
    cli.writer = dn_run_writer_new ();
    DnObserver obs = {.cancel = &cancel_flag, .event = dn_cli_observe, .user_data = &cli};
    signal (SIGINT, on_sigint);
    signal (SIGTERM, on_sigint);
    DnRunResult result = {0};
    gboolean ok = resume != NULL ? dn_experiment_resume (resume, &opts, &obs, &result, &error)
                                 : dn_experiment_run (exp, &opts, &obs, &result, &error);
    g_autoptr (GError) write_error = dn_run_writer_free (cli.writer);
    if (!ok)
        return fail ("train", error);
    dn_run_result_clear (&result);
    if (write_error != NULL)
        return fail ("train", write_error);
    return cancel_flag ? 130 : 0;
}

static int cmd_eval (int argc, char **argv)
{
    g_autofree char *data = NULL, *confusion_path = NULL;
    gboolean json = FALSE;
    int threads = 0, batch = 256;
    GOptionEntry entries[] = {
        {"data", 0, 0, G_OPTION_ARG_FILENAME, &data,
         "Test data: an IDX folder (its t10k files) or a CSV file", "DIR"},
        {"batch-size", 0, 0, G_OPTION_ARG_INT, &batch, "Evaluation batch size (256)", "N"},
        {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "CPU threads (default: all cores)", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print {\"accuracy\", \"loss\", \"samples\"}",
         NULL},
        {"confusion", 0, 0, G_OPTION_ARG_FILENAME, &confusion_path,
         "Write the confusion matrix with per-class recall and precision to FILE.csv",
         "FILE.csv"},
        verbose_entry,
        {NULL},
    };
    g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL.safetensors - evaluate a model");
    g_option_context_add_main_entries (ctx, entries, NULL);
    g_autoptr (GError) error = NULL;
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return usage_error (ctx, "eval", error->message);
    say_blas ("eval");
    if (argc != 2)
        return usage_error (ctx, "eval", "give one model file");
    if (data == NULL)
        return usage_error (ctx, "eval", "--data is required");
    if (batch < 1 || threads < 0)
        return usage_error (ctx, "eval", "--batch-size and --threads must be positive");
    dn_backend_cpu_set_threads (threads);
    g_autoptr (GHashTable) meta = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (argv[1], dn_backend_cpu (), &meta, &error);
    if (net == NULL)
        return fail ("eval", error);
    g_autoptr (DnDataset) ds = dn_model_load_eval_data (data, meta, &error);
    if (ds == NULL)
        return fail ("eval", error);
    if (!dn_model_check_data (net, ds, argv[1], &error))
        return fail ("eval", error);
    DnNormalize norm;
    gboolean has_norm = FALSE;
    if (!dn_model_normalize (meta, net, argv[1], &norm, &has_norm, &error))
        return fail ("eval", error);
    if (!has_norm)
        fprintf (stderr, "dendrite eval: warning: %s records no normalisation; using none\n",
                 argv[1]);
    if (dn_network_context_dim (net) > 0 || g_hash_table_contains (meta, "dendrite_continual")) {
        /* a continual model: every permuted task, each image with its nearest prototype */
        g_autofree double *per_task = NULL;
        int tasks = 0;
        double avg = 0.0;
        if (confusion_path != NULL) {
            fprintf (stderr, "dendrite eval: %s is a continual model, scored per task; "
                             "--confusion is for models that classify one dataset\n",
                     argv[1]);
            return 1;
        }
        if (!dn_continual_evaluate (net, meta, argv[1], ds, &norm, batch, &per_task, &tasks, &avg,
                                    &error))
            return fail ("eval", error);
        if (json) {
            g_autoptr (JsonBuilder) b = json_builder_new ();
            json_builder_begin_object (b);
            dn_cli_json_number (b, "average_accuracy", avg);
            json_builder_set_member_name (b, "accuracies");
            json_builder_begin_array (b);
            for (int t = 0; t < tasks; t++)
                json_builder_add_double_value (b, per_task[t]);
            json_builder_end_array (b);
            json_builder_set_member_name (b, "samples");
            json_builder_add_int_value (b, (gint64) ds->n * tasks);
            json_builder_end_object (b);
            dn_cli_json_print (stdout, b);
        } else {
            for (int t = 0; t < tasks; t++)
                printf ("task %d: accuracy %.2f %%\n", t, per_task[t]);
            printf ("average accuracy over %d tasks: %.2f %% (%d test images per task)\n", tasks,
                    avg, ds->n);
        }
        return 0;
    }
    double acc, loss;
    g_autoptr (DnConfusion) confusion = NULL;
    if (!dn_evaluate_confusion (net, ds, &norm, dn_model_loss_kind (meta), batch, &acc, &loss,
                                confusion_path != NULL ? &confusion : NULL, &error))
        return fail ("eval", error);
    if (confusion != NULL &&
        !dn_confusion_write_csv (confusion, (const char *const *) ds->class_names, confusion_path,
                                 &error))
        return fail ("eval", error);
    if (json) {
        g_autoptr (JsonBuilder) b = json_builder_new ();
        json_builder_begin_object (b);
        dn_cli_json_number (b, "accuracy", acc);
        dn_cli_json_number (b, "loss", loss);
        json_builder_set_member_name (b, "samples");
        json_builder_add_int_value (b, ds->n);
        json_builder_end_object (b);
        dn_cli_json_print (stdout, b);
    } else {
        printf ("%s on %s: accuracy %.2f %%, loss %.4f, %d samples\n", argv[1], data, acc, loss,
                ds->n);
    }
    return 0;
}

static gboolean looks_like_json (const char *path)
{
    /* A safetensors file starts with an 8-byte length; JSON with '{' after blanks. */
    FILE *f = fopen (path, "rb");
    if (f == NULL)
        return g_str_has_suffix (path, ".json");
    int c;
    while ((c = fgetc (f)) != EOF && g_ascii_isspace (c))
        ;
    int next = c == '{' ? fgetc (f) : EOF;
    fclose (f);
    return c == '{' && next != 0;
}

static int cmd_inspect (int argc, char **argv)
{
    GOptionEntry entries[] = {verbose_entry, {NULL}};
    g_autoptr (GOptionContext) ctx =
        g_option_context_new ("MODEL.safetensors|EXPERIMENT.json - show a network's layers");
    g_option_context_add_main_entries (ctx, entries, NULL);
    g_autoptr (GError) error = NULL;
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return usage_error (ctx, "inspect", error->message);
    say_blas ("inspect");
    if (argc != 2)
        return usage_error (ctx, "inspect", "give one model or experiment file");
    const char *path = argv[1];
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
        fprintf (stderr, "dendrite inspect: %s does not exist\n", path);
        return 1;
    }
    g_autoptr (DnNetwork) net = NULL;
    g_autoptr (GHashTable) meta = NULL;
    if (looks_like_json (path)) {
        g_autoptr (DnExperiment) exp = dn_experiment_load (path, &error);
        if (exp == NULL)
            return fail ("inspect", error);
        net = dn_network_new_from_json (exp->network, dn_backend_cpu (), &error);
        if (net == NULL)
            return fail ("inspect", error);
        printf ("experiment %s\n", exp->name);
    } else {
        net = dn_model_load (path, dn_backend_cpu (), &meta, &error);
        if (net == NULL)
            return fail ("inspect", error);
        const char *train = g_hash_table_lookup (meta, "dendrite_training");
        printf ("model %s\n", path);
        if (train != NULL)
            printf ("training: %s\n", train);
    }
    g_autofree char *summary = dn_network_summary (net);
    fputs (summary, stdout);
    if (dn_network_n_dendritic (net) > 0)
        printf ("%d neuron module%s with %d dendrite set%s; the reference library would count "
                "%" G_GINT64_FORMAT " parameters\n",
                dn_network_n_dendritic (net), dn_network_n_dendritic (net) == 1 ? "" : "s",
                dn_network_dendrite_count (net), dn_network_dendrite_count (net) == 1 ? "" : "s",
                dn_network_reference_param_count (net));
    return 0;
}

static void print_help (FILE *out)
{
    fprintf (out,
             "Usage: dendrite COMMAND [OPTIONS]\n\n"
             "Train and inspect (dendritic) neural networks.\n\n"
             "Commands:\n"
             "  train EXPERIMENT.json   train a network; see dendrite train --help\n"
             "  eval MODEL --data DIR   accuracy and loss of a saved model on test data\n"
             "                          (--confusion FILE.csv: its confusion matrix)\n"
             "  inspect FILE            layers, shapes and parameter counts of a model or "
             "experiment\n"
             "  import MODEL.onnx --out DIR   an ONNX model as an experiment and model file\n"
             "  export MODEL -o MODEL.onnx    a model, with its dendrites, as ONNX (opset 17)\n\n"
             "Options:\n"
             "  -h, --help              this help\n"
             "  --version               the version\n"
             "  -v, --verbose           (before or after a command) say which BLAS kernels run\n"
             "                          and why\n\n"
             "Examples are installed in %s/examples.\n",
             DN_DATADIR);
}

int main (int argc, char **argv)
{
    g_autoptr (GError) blas_error = NULL;
    if (!dn_blas_maybe_reexec (argv, &blas_error)) {
        fprintf (stderr, "dendrite: %s\n", blas_error->message);
        return 1;
    }
    setlocale (LC_ALL, "");
    /* dendrite --verbose COMMAND … as well as dendrite COMMAND … --verbose */
    if (argc >= 2 && (g_str_equal (argv[1], "--verbose") || g_str_equal (argv[1], "-v"))) {
        verbose = TRUE;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    if (argc < 2) {
        print_help (stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (g_str_equal (cmd, "--help") || g_str_equal (cmd, "-h") || g_str_equal (cmd, "help")) {
        print_help (stdout);
        return 0;
    }
    if (g_str_equal (cmd, "--version")) {
        printf ("dendrite %s\n", PACKAGE_VERSION);
        return 0;
    }
    /* Each command parses its own options: argv[1..] with the command as argv[0]. */
    if (g_str_equal (cmd, "train"))
        return cmd_train (argc - 1, argv + 1);
    if (g_str_equal (cmd, "eval"))
        return cmd_eval (argc - 1, argv + 1);
    if (g_str_equal (cmd, "inspect"))
        return cmd_inspect (argc - 1, argv + 1);
    if (g_str_equal (cmd, "import"))
        return dn_cli_import (argc - 1, argv + 1);
    if (g_str_equal (cmd, "export"))
        return dn_cli_export (argc - 1, argv + 1);
    fprintf (stderr, "dendrite: unknown command \"%s\"\n\n", cmd);
    print_help (stderr);
    return 2;
}
