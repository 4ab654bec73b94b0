/* dn-bench: the engine's speed and memory, measured on the machine at hand.
 *
 *   dn-bench [--threads N] [--repeats N] [--steps N] [--json FILE] [--dendrite PATH] [--only-pb]
 *
 * 1. OpenBLAS sgemm GFLOP/s (square 1024 and the conv2 GEMM of the MNIST CNN).
 * 2. Training throughput (samples/s; the batch step of every schedule, dn_run_step,
 *    and the optimizer step) of the MNIST CNN and the 784-256-10 MLP at batch 64 on
 *    Fashion-MNIST-shaped data, and the achieved GFLOP/s of the CNN step.
 * 3. The MNIST CNN with 0, 1, 2 and 3 dendrite sets, against the ideal
 *    (k + 1)-fold cost of the plain network: each repeat times the plain and the
 *    dendritic network back to back, and the figure is the median of those ratios.
 * 4. End to end: whole epochs of the training loop `dendrite train` runs
 *    (dn_experiment_run) on the bundled MNIST sample, for the CNN and the MLP,
 *    against the step figure timed just before each run (the examples' own
 *    optimizers in both).
 * 5. Peak resident memory of `dendrite train` of the CNN for one epoch on
 *    Fashion-MNIST (when the Debian package is installed).
 * 6. Correlation-trained dendrites (data/examples/mlp-pb.json on the MNIST sample, and
 *    its settings with the narrow CNN of data/examples/results/): the training pass of
 *    a dendrite-phase epoch (k installed sets + the candidates) against that of a
 *    neuron-phase epoch of the network with those k + 1 sets installed, the epochs
 *    after the phase; median of the per-run ratios (--only-pb: this section alone).
 * Every figure is the median of several repeats; the spread is printed too.
 */
#include "dn-blas.h"
#include "dn-dendrite.h"
#include "dn-experiment.h"
#include "dn-json.h"
#include "dn-network.h"
#include "dn-run-step.h"
#include "dn-run.h"

#include "dn-config.h"

#include <cblas.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double median (double *v, int n)
{
    qsort (v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double now (void)
{
    return g_get_monotonic_time () / 1e6;
}

typedef struct {
    double med, min, max;
} Stat;

static Stat stat_of (double *v, int n)
{
    Stat s;
    s.med = median (v, n);
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

static Stat bench_sgemm (int m, int n, int k, int repeats)
{
    float *a = g_new (float, (size_t) m *k), *b = g_new (float, (size_t) k *n);
    float *c = g_new0 (float, (size_t) m *n);
    for (size_t i = 0; i < (size_t) m * k; i++)
        a[i] = (float) (i % 17) * 0.01f;
    for (size_t i = 0; i < (size_t) k * n; i++)
        b[i] = (float) (i % 13) * 0.01f;
    double flops = 2.0 * m * n * k;
    int inner = MAX (1, (int) (2e10 / flops)); /* about 0.2 s per repeat */
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    double *g = g_new (double, repeats);
    for (int r = 0; r < repeats; r++) {
        double t = now ();
        for (int i = 0; i < inner; i++)
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c,
                         n);
        g[r] = inner * flops / (now () - t) / 1e9;
    }
    Stat s = stat_of (g, repeats);
    g_free (g);
    g_free (a);
    g_free (b);
    g_free (c);
    return s;
}

/* Multiply-adds of one forward pass per sample, from the conv and linear layers. */
static double forward_macs (DnNetwork *net, gboolean *first_has_dx, double *macs_no_dx)
{
    double macs = 0, first = 0;
    for (int i = 0; i < dn_network_n_nodes (net); i++) {
        DnNode *n = dn_network_node (net, i);
        DnLayer *l = n->layer;
        double m = 0;
        if (g_str_equal (l->klass->type, "linear") || g_str_equal (l->klass->type, "conv2d") ||
            g_str_equal (l->klass->type, "conv1d")) {
            DnParam *w = dn_layer_find_param (l, "weight");
            /* weight numel x output positions */
            double positions = (double) dn_shape_numel (&l->out_shape) / w->shape.d[0];
            m = (double) dn_shape_numel (&w->shape) * positions;
        }
        if (n->n_inputs == 1 && n->inputs[0] < 0)
            first += m;
        macs += m;
    }
    *macs_no_dx = first;
    *first_has_dx = FALSE;
    return macs;
}

static DnExperiment *load_example (const char *example)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *path = g_build_filename (DN_SOURCE_DATADIR, "examples", example, NULL);
    DnExperiment *exp = dn_experiment_load (path, &error);
    if (exp == NULL) {
        fprintf (stderr, "dn-bench: %s\n", error->message);
        exit (1);
    }
    return exp;
}

/* A network ready to train on random Fashion-MNIST-shaped data, through the batch
 * step every schedule uses. */
typedef struct {
    DnBackend *be;
    DnNetwork *net;
    DnOptimizer *opt;
    DnRunStep *step;
    int batch;
    double lr;
    double step_flops;
} Trainer;

static Trainer *trainer_new (const char *example, int batch, int dendrite_sets)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = load_example (example);
    g_autoptr (JsonNode) desc = json_node_copy (exp->network);
    Trainer *t = g_new0 (Trainer, 1);
    t->be = dn_backend_cpu ();
    t->batch = batch;
    if (dendrite_sets >= 0) {
        /* every conv and linear layer becomes a neuron module (the default selection) */
        DnDendriteSelection sel;
        dn_dendrite_selection_init (&sel);
        JsonNode *wrapped = dn_dendrite_wrap_network (desc, &sel, NULL, &error);
        dn_dendrite_selection_clear (&sel);
        g_assert_no_error (error);
        json_node_unref (desc);
        desc = wrapped;
    }
    t->net = dn_network_new_from_json (desc, t->be, &error);
    g_assert_no_error (error);
    DnRng rng;
    dn_rng_seed (&rng, 1);
    dn_network_init (t->net, &rng);
    for (int k = 0; k < dendrite_sets; k++) {
        DnNetwork *bigger = dn_network_add_dendrites (t->net, &rng, &error);
        g_assert_no_error (error);
        dn_network_free (t->net);
        t->net = bigger;
    }
    dn_network_reserve (t->net, batch, &error);
    g_assert_no_error (error);
    /* the example's optimizer: Adadelta for the CNN, Adam for the MLP */
    t->opt = dn_optimizer_new (&exp->optim, t->be, t->net->n_params, &error);
    g_assert_no_error (error);
    t->lr = exp->optim.lr;
    size_t in = (size_t) dn_shape_numel (&t->net->input_shape);
    DnShape out = dn_network_output_shape (t->net);
    t->step = dn_run_step_new (t->be, in, (int) dn_shape_numel (&out), batch, DN_LOSS_CROSS_ENTROPY,
                               0.0f, &error);
    g_assert_no_error (error);
    for (size_t i = 0; i < in * batch; i++)
        t->step->x[i] = dn_rng_normal (&rng);
    for (int i = 0; i < batch; i++)
        t->step->y[i] = (int32_t) dn_rng_below (&rng, 10);
    double first_macs;
    gboolean unused;
    double macs = forward_macs (t->net, &unused, &first_macs);
    /* forward + weight gradients + input gradients (none for the first layer) */
    t->step_flops = 2.0 * batch * (3.0 * macs - first_macs);
    return t;
}

/* Seconds for `steps` training steps (dn_run_step: upload, forward, loss, backward;
 * then the optimizer step). */
static double trainer_time (Trainer *t, int steps)
{
    double t0 = now ();
    for (int s = 0; s < steps; s++) {
        double loss;
        int correct;
        g_autoptr (GError) error = NULL;
        if (!dn_run_step (t->step, t->net, t->batch, (uint64_t) s, &loss, &correct, &error)) {
            fprintf (stderr, "dn-bench: %s\n", error->message);
            exit (1);
        }
        dn_optimizer_step (t->opt, t->net->params, t->net->grads, t->lr);
    }
    return now () - t0;
}

static void trainer_free (Trainer *t)
{
    dn_optimizer_free (t->opt);
    dn_network_free (t->net);
    dn_run_step_free (t->step);
    g_free (t);
}

static Stat bench_training (const char *example, int batch, int steps, int repeats,
                            double *gflops_med, int dendrite_sets)
{
    Trainer *t = trainer_new (example, batch, dendrite_sets);
    double *sps = g_new (double, repeats), *gf = g_new (double, repeats);
    for (int r = -1; r < repeats; r++) { /* r = -1 warms up */
        double dt = trainer_time (t, steps);
        if (r >= 0) {
            sps[r] = steps * batch / dt;
            gf[r] = steps * t->step_flops / dt / 1e9;
        }
    }
    Stat s = stat_of (sps, repeats);
    *gflops_med = median (gf, repeats);
    g_free (sps);
    g_free (gf);
    trainer_free (t);
    return s;
}

/* The dendritic CNN with k sets against the plain one, timed in alternation so that a
 * machine whose speed drifts (other jobs) moves both alike: the median of the per-pair
 * ratios (dendritic samples/s) / (plain samples/s / (k + 1)), and the dendritic
 * network's median samples/s. */
static double bench_dendrite_ratio (Trainer *plain, int k, int steps, int repeats, double *sps_med)
{
    Trainer *d = trainer_new ("mnist-cnn.json", plain->batch, k);
    const int dsteps = MAX (1, steps / (k + 1));
    double *ratio = g_new (double, repeats), *sps = g_new (double, repeats);
    trainer_time (d, dsteps); /* warm up */
    for (int r = 0; r < repeats; r++) {
        double p = steps * plain->batch / trainer_time (plain, steps);
        sps[r] = dsteps * d->batch / trainer_time (d, dsteps);
        ratio[r] = sps[r] / (p / (k + 1));
    }
    double med = median (ratio, repeats);
    *sps_med = median (sps, repeats);
    g_free (ratio);
    g_free (sps);
    trainer_free (d);
    return med;
}

/* Removes a run folder the benchmark made (files and folders inside, then itself). */
static void remove_tree (const char *path)
{
    GDir *dir = g_dir_open (path, 0, NULL);
    if (dir != NULL) {
        const char *name;
        while ((name = g_dir_read_name (dir)) != NULL) {
            g_autofree char *child = g_build_filename (path, name, NULL);
            if (g_file_test (child, G_FILE_TEST_IS_DIR) &&
                !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
                remove_tree (child);
            else
                g_unlink (child);
        }
        g_dir_close (dir);
    }
    if (g_rmdir (path) != 0)
        fprintf (stderr, "dn-bench: could not remove %s\n", path);
}

/* ---- end to end: whole epochs of `dendrite train` ----
 * The run is dn_experiment_run, the loop `dendrite train` runs, in this process with an
 * observer that reads the clock: the training pass of an epoch (batch gathering and
 * normalisation, the step, events) ends with its last batch event; the whole epoch
 * (also the evaluation of the validation and test splits and the checkpoint files)
 * runs from the start event, after the data is loaded, or the previous epoch's end to
 * its own epoch event, which comes after the files are written. */
typedef struct {
    gint64 mark;
    int n_train;
    GArray *train, *whole; /* seconds per epoch */
} EpochClock;

static void epoch_clock_event (const DnEvent *ev, gpointer data)
{
    EpochClock *c = data;
    gint64 t = g_get_monotonic_time ();
    if (ev->kind == DN_EVENT_START) {
        c->n_train = (int) ev->train_samples;
        c->mark = t;
    } else if (ev->kind == DN_EVENT_BATCH && ev->batch == ev->n_batches) {
        double s = ev->seconds;
        g_array_append_val (c->train, s);
    } else if (ev->kind == DN_EVENT_EPOCH) {
        double s = (t - c->mark) / 1e6;
        g_array_append_val (c->whole, s);
        c->mark = t;
    }
}

typedef struct {
    double step, train, whole;       /* median samples/s */
    double train_ratio, whole_ratio; /* medians of the per-repeat ratios to the step */
} EpochStat;

/* Each repeat times `steps` steps of the example's network on random data, then trains
 * it for `epochs` epochs with dn_experiment_run; the ratios are per repeat, so a drift
 * in the machine's speed moves both figures of a pair alike. */
static EpochStat bench_epochs (const char *example, int threads, int epochs, int steps, int repeats)
{
    g_autoptr (DnExperiment) exp = load_example (example);
    Trainer *t = trainer_new (example, exp->batch_size, -1);
    trainer_time (t, steps); /* warm up */
    double *step = g_new (double, repeats), *train = g_new (double, repeats);
    double *whole = g_new (double, repeats), *tr = g_new (double, repeats);
    double *wr = g_new (double, repeats);
    for (int r = 0; r < repeats; r++) {
        step[r] = steps * t->batch / trainer_time (t, steps);
        EpochClock c = {0};
        c.train = g_array_new (FALSE, FALSE, sizeof (double));
        c.whole = g_array_new (FALSE, FALSE, sizeof (double));
        DnObserver obs = {epoch_clock_event, &c, NULL};
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("dn-bench-XXXXXX", &error);
        DnRunOptions opts = {.out_dir = dir, .epochs = epochs, .threads = threads};
        if (dir == NULL || !dn_experiment_run (exp, &opts, &obs, NULL, &error) ||
            (int) c.train->len != epochs || (int) c.whole->len != epochs) {
            fprintf (stderr, "dn-bench: training %s: %s\n", example,
                     error != NULL ? error->message : "an epoch went missing");
            exit (1);
        }
        remove_tree (dir);
        /* the median epoch of this run */
        train[r] = c.n_train / median ((double *) c.train->data, epochs);
        whole[r] = c.n_train / median ((double *) c.whole->data, epochs);
        tr[r] = train[r] / step[r];
        wr[r] = whole[r] / step[r];
        g_array_unref (c.train);
        g_array_unref (c.whole);
    }
    EpochStat s = {median (step, repeats), median (train, repeats), median (whole, repeats),
                   median (tr, repeats), median (wr, repeats)};
    g_free (step);
    g_free (train);
    g_free (whole);
    g_free (tr);
    g_free (wr);
    trainer_free (t);
    return s;
}

static void print_epochs (const char *name, const EpochStat *s)
{
    printf ("%-44s %10.0f samples/s (step, just before each run)\n", name, s->step);
    printf ("%-44s %10.0f samples/s = %.0f %% of the step\n",
            "  epoch, training pass (data, step, events)", s->train, 100.0 * s->train_ratio);
    printf ("%-44s %10.0f samples/s = %.0f %% of the step\n",
            "  whole epoch (+ evaluation, checkpoints)", s->whole, 100.0 * s->whole_ratio);
}

/* ---- correlation-trained dendrites: dendrite-phase epochs against neuron epochs ----
 * An epoch is a phase epoch when a START_DENDRITE_PHASE came before it and its END
 * not yet; the neuron epochs timed are the ones after the END, whose network has as
 * many sets as the phase's. */
typedef struct {
    gboolean in_phase, installed;
    double last_train, cpu_mark, last_cpu;
    GArray *phase, *neuron;         /* training-pass seconds */
    GArray *phase_cpu, *neuron_cpu; /* the same in CPU seconds of the process */
    volatile gint cancel; /* raised after PB_NEURON_EPOCHS neuron epochs: enough to time */
} PbClock;

#define PB_NEURON_EPOCHS 4

/* CPU seconds of the process: with one thread, the work done, whatever else the
 * machine runs (the scheduler's own count, not the tick-based rusage). */
static double cpu_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pb_clock_event (const DnEvent *ev, gpointer data)
{
    PbClock *c = data;
    if (ev->kind == DN_EVENT_BATCH && ev->batch == ev->n_batches) {
        c->last_train = ev->seconds;
        c->last_cpu = cpu_now () - c->cpu_mark;
    }
    if (ev->kind != DN_EVENT_EPOCH)
        return;
    if (c->in_phase) {
        g_array_append_val (c->phase, c->last_train);
        g_array_append_val (c->phase_cpu, c->last_cpu);
    } else if (c->installed) {
        g_array_append_val (c->neuron, c->last_train);
        g_array_append_val (c->neuron_cpu, c->last_cpu);
    }
    if (c->neuron->len >= PB_NEURON_EPOCHS)
        g_atomic_int_set (&c->cancel, 1);
    for (int i = 0; ev->action != NULL && i < ev->action->n_ops; i++) {
        if (ev->action->ops[i].kind == DN_TRACKER_OP_START_DENDRITE_PHASE && !c->installed)
            c->in_phase = TRUE;
        if (ev->action->ops[i].kind == DN_TRACKER_OP_END_DENDRITE_PHASE && c->in_phase) {
            c->in_phase = FALSE;
            c->installed = TRUE;
        }
    }
    c->cpu_mark = cpu_now (); /* the next epoch's training starts after this event */
}

/* Medians over the repeats of a run's median phase epoch and neuron epoch (seconds)
 * and of the per-run ratios; in wall-clock and in CPU time. */
typedef struct {
    double phase, neuron, ratio, phase_cpu, neuron_cpu, ratio_cpu;
} PbFigure;

/* mlp-pb.json, or its settings with the network of `network_from` (an example). */
static PbFigure bench_pb_epochs (const char *network_from, int threads, int repeats)
{
    g_autoptr (DnExperiment) exp = load_example ("mlp-pb.json");
    if (network_from != NULL) {
        g_autoptr (DnExperiment) other = load_example (network_from);
        json_node_unref (exp->network);
        exp->network = json_node_copy (other->network);
        /* with hundreds of candidate channels one of them nearly always improves by the
         * margin: a phase ends by its length */
        exp->tracker.cap_at_n = TRUE;
    }
    /* per repeat: phase, neuron, ratio, the same in CPU time */
    double *v = g_new (double, 6 * (size_t) repeats);
    for (int r = 0; r < repeats; r++) {
        PbClock c = {0};
        GArray **arrs[4] = {&c.phase, &c.neuron, &c.phase_cpu, &c.neuron_cpu};
        for (int i = 0; i < 4; i++)
            *arrs[i] = g_array_new (FALSE, FALSE, sizeof (double));
        DnObserver obs = {pb_clock_event, &c, &c.cancel};
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("dn-bench-XXXXXX", &error);
        DnRunOptions opts = {.out_dir = dir, .threads = threads};
        c.cpu_mark = cpu_now ();
        if (dir == NULL || !dn_experiment_run (exp, &opts, &obs, NULL, &error) ||
            c.phase->len == 0 || c.neuron->len == 0) {
            fprintf (stderr, "dn-bench: training mlp-pb%s%s: %s\n",
                     network_from != NULL ? " with the network of " : "",
                     network_from != NULL ? network_from : "",
                     error != NULL ? error->message : "no dendrite phase ended");
            exit (1);
        }
        remove_tree (dir);
        for (int t = 0; t < 2; t++) {
            GArray *ph = *arrs[2 * t], *nn = *arrs[2 * t + 1];
            double *o = v + 3 * t * repeats;
            o[r] = median ((double *) ph->data, (int) ph->len);
            o[repeats + r] = median ((double *) nn->data, (int) nn->len);
            o[2 * repeats + r] = o[r] / o[repeats + r];
        }
        for (int i = 0; i < 4; i++)
            g_array_unref (*arrs[i]);
    }
    double m[6];
    for (int i = 0; i < 6; i++)
        m[i] = median (v + (size_t) i * repeats, repeats);
    g_free (v);
    return (PbFigure){m[0], m[1], m[2], m[3], m[4], m[5]};
}

/* Section 6: the MLP's figure and the narrow CNN's. */
static void bench_pb (int threads, int repeats, PbFigure out[2])
{
    static const char *const nets[2] = {NULL, "results/cnn-narrow-baseline.json"};
    static const char *const labels[2] = {"MLP PB: dendrite-phase / neuron epoch (train)",
                                          "CNN 8/16 PB: dendrite-phase / neuron epoch"};
    for (int i = 0; i < 2; i++) {
        PbFigure *f = &out[i];
        *f = bench_pb_epochs (nets[i], threads, repeats);
        printf ("%-44s %10.3f s against %.3f s = %.2fx; CPU %.3f s against %.3f s = %.2fx\n",
                labels[i], f->phase, f->neuron, f->ratio, f->phase_cpu, f->neuron_cpu,
                f->ratio_cpu);
    }
}

/* Peak RSS (MB) of a child `dendrite train` run, or NAN when it cannot run. */
static double bench_peak_memory (const char *dendrite, int threads, double *seconds)
{
    const char *fashion = "/usr/share/datasets/fashion-mnist";
    if (!g_file_test (fashion, G_FILE_TEST_IS_DIR) ||
        !g_file_test (dendrite, G_FILE_TEST_IS_EXECUTABLE))
        return NAN;
    g_autofree char *exp = g_build_filename (DN_SOURCE_DATADIR, "examples", "mnist-cnn.json", NULL);
    g_autofree char *out = g_dir_make_tmp ("dn-bench-XXXXXX", NULL);
    g_autofree char *th = g_strdup_printf ("%d", threads);
    double t = now ();
    pid_t pid = fork ();
    if (pid == 0) {
        int fd = open ("/dev/null", O_WRONLY);
        dup2 (fd, 1);
        execl (dendrite, dendrite, "train", exp, "--data", fashion, "--epochs", "1", "--out", out,
               "--threads", th, (char *) NULL);
        _exit (127);
    }
    int status;
    struct rusage ru;
    wait4 (pid, &status, 0, &ru);
    *seconds = now () - t;
    remove_tree (out);
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        return NAN;
    return ru.ru_maxrss / 1024.0;
}

int main (int argc, char **argv)
{
    g_autoptr (GError) blas_error = NULL;
    if (!dn_blas_maybe_reexec (argv, &blas_error)) {
        fprintf (stderr, "dn-bench: %s\n", blas_error->message);
        return 1;
    }
    int threads = 0, repeats = 5, steps = 20;
    g_autofree char *json_path = NULL, *dendrite = NULL;
    gboolean skip_memory = FALSE, skip_epochs = FALSE, skip_dendrites = FALSE, only_pb = FALSE;
    GOptionEntry entries[] = {
        {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N"},
        {"repeats", 0, 0, G_OPTION_ARG_INT, &repeats, "Repeats per figure (5)", "N"},
        {"steps", 0, 0, G_OPTION_ARG_INT, &steps, "Training steps per repeat (20)", "N"},
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "Write the results here", "FILE"},
        {"dendrite", 0, 0, G_OPTION_ARG_FILENAME, &dendrite, "The dendrite program", "PATH"},
        {"skip-memory", 0, 0, G_OPTION_ARG_NONE, &skip_memory, "Skip the memory run", NULL},
        {"skip-epochs", 0, 0, G_OPTION_ARG_NONE, &skip_epochs, "Skip the end-to-end epochs", NULL},
        {"skip-dendrites", 0, 0, G_OPTION_ARG_NONE, &skip_dendrites, "Skip the dendritic networks",
         NULL},
        {"only-pb", 0, 0, G_OPTION_ARG_NONE, &only_pb,
         "Only the correlation-trained dendrites (section 6)", NULL},
        {NULL},
    };
    g_autoptr (GOptionContext) ctx = g_option_context_new ("- measure the engine");
    g_option_context_add_main_entries (ctx, entries, NULL);
    g_autoptr (GError) error = NULL;
    if (!g_option_context_parse (ctx, &argc, &argv, &error) || repeats < 1 || steps < 1) {
        fprintf (stderr, "dn-bench: %s\n", error ? error->message : "bad --repeats or --steps");
        return 2;
    }
    dn_backend_cpu_set_threads (threads);
    threads = dn_backend_cpu_get_threads ();

    g_autofree char *kernels = dn_blas_describe ();
    printf ("machine: %d threads; %s\n", threads, kernels);
    if (only_pb) {
        PbFigure only[2];
        bench_pb (threads, repeats, only);
        return 0;
    }
    /* The machine's figure: OpenBLAS with its own threads on all cores. */
    openblas_set_num_threads (threads);
    Stat sq = bench_sgemm (1024, 1024, 1024, repeats);
    openblas_set_num_threads (1);
    Stat cv = bench_sgemm (64, 576, 288, repeats);
    printf ("%-44s %10.1f GFLOP/s  (min %.1f, max %.1f)\n", "sgemm 1024x1024x1024", sq.med, sq.min,
            sq.max);
    printf ("%-44s %10.1f GFLOP/s  (min %.1f, max %.1f)\n",
            "sgemm 64x576x288, 1 thread (conv2, a sample)", cv.med, cv.min, cv.max);
    double cnn_gf, mlp_gf;
    Stat cnn = bench_training ("mnist-cnn.json", 64, steps, repeats, &cnn_gf, -1);
    printf ("%-44s %10.0f samples/s (min %.0f, max %.0f)\n", "train MNIST CNN, batch 64", cnn.med,
            cnn.min, cnn.max);
    printf ("%-44s %10.1f GFLOP/s = %.0f %% of sgemm\n", "  achieved", cnn_gf,
            100.0 * cnn_gf / sq.med);
    Stat mlp = bench_training ("mlp.json", 64, steps * 10, repeats, &mlp_gf, -1);
    printf ("%-44s %10.0f samples/s (min %.0f, max %.0f)\n", "train MLP 784-256-10, batch 64",
            mlp.med, mlp.min, mlp.max);
    /* Dendrites: k sets make every conv and linear layer k + 1 times as much work;
     * the ideal throughput is the plain one / (k + 1). */
    double dend_sps[4] = {NAN, NAN, NAN, NAN}, dend_eff[4] = {NAN, NAN, NAN, NAN};
    if (!skip_dendrites) {
        Trainer *plain = trainer_new ("mnist-cnn.json", 64, -1);
        trainer_time (plain, steps); /* warm up */
        for (int k = 0; k <= 3; k++) {
            dend_eff[k] = bench_dendrite_ratio (plain, k, steps, repeats, &dend_sps[k]);
            printf ("%-44s %10.0f samples/s = %.0f %% of plain/(k+1)\n",
                    k == 0   ? "  dendritic CNN, 0 sets (wrapped)"
                    : k == 1 ? "  dendritic CNN, 1 set"
                    : k == 2 ? "  dendritic CNN, 2 sets"
                             : "  dendritic CNN, 3 sets",
                    dend_sps[k], 100.0 * dend_eff[k]);
        }
        trainer_free (plain);
    }
    EpochStat cnn_ep = {NAN, NAN, NAN, NAN, NAN}, mlp_ep = cnn_ep;
    if (!skip_epochs) {
        /* MLP epochs take a tenth of a second: three a run */
        cnn_ep = bench_epochs ("mnist-cnn.json", threads, 1, steps, repeats);
        print_epochs ("end to end: MNIST CNN, batch 64", &cnn_ep);
        mlp_ep = bench_epochs ("mlp.json", threads, 3, steps * 10, repeats);
        print_epochs ("end to end: MLP 784-256-10, batch 64", &mlp_ep);
    }
    PbFigure pb[2] = {{NAN, NAN, NAN, NAN, NAN, NAN}, {NAN, NAN, NAN, NAN, NAN, NAN}};
    if (!skip_dendrites)
        bench_pb (threads, repeats, pb);
    double mem = NAN, mem_secs = NAN;
    if (!skip_memory) {
        if (dendrite == NULL)
            dendrite = g_build_filename (g_path_get_dirname (argv[0]), "..", "src", "cli",
                                         "dendrite", NULL);
        mem = bench_peak_memory (dendrite, threads, &mem_secs);
        if (isnan (mem))
            printf ("%-44s %10s\n", "peak memory, Fashion-MNIST CNN epoch", "skipped");
        else
            printf ("%-44s %10.0f MB (epoch run took %.0f s)\n",
                    "peak memory, Fashion-MNIST CNN epoch", mem, mem_secs);
    }
    if (json_path != NULL) {
        g_autoptr (JsonBuilder) b = json_builder_new ();
        json_builder_begin_object (b);
#define NUM(k, v)                                                                                  \
    do {                                                                                           \
        json_builder_set_member_name (b, k);                                                       \
        if (isfinite (v))                                                                          \
            json_builder_add_double_value (b, v);                                                  \
        else                                                                                       \
            json_builder_add_null_value (b);                                                       \
    } while (0)
        json_builder_set_member_name (b, "threads");
        json_builder_add_int_value (b, threads);
        json_builder_set_member_name (b, "blas_core");
        json_builder_add_string_value (b, dn_blas_core_name ());
        json_builder_set_member_name (b, "blas_kernels");
        json_builder_add_string_value (b, kernels);
        NUM ("sgemm_gflops", sq.med);
        NUM ("sgemm_conv2_gflops", cv.med);
        NUM ("cnn_samples_per_s", cnn.med);
        NUM ("cnn_samples_per_s_min", cnn.min);
        NUM ("cnn_samples_per_s_max", cnn.max);
        NUM ("cnn_gflops", cnn_gf);
        NUM ("cnn_fraction_of_sgemm", cnn_gf / sq.med);
        NUM ("mlp_samples_per_s", mlp.med);
        NUM ("mlp_samples_per_s_min", mlp.min);
        NUM ("mlp_samples_per_s_max", mlp.max);
        for (int k = 0; k <= 3; k++) {
            char key[64];
            g_snprintf (key, sizeof key, "cnn_dendrites_%d_samples_per_s", k);
            NUM (key, dend_sps[k]);
            g_snprintf (key, sizeof key, "cnn_dendrites_%d_fraction_of_ideal", k);
            NUM (key, dend_eff[k]);
        }
        const EpochStat *ep[2] = {&cnn_ep, &mlp_ep};
        for (int i = 0; i < 2; i++) {
            char key[64];
            const char *net = i == 0 ? "cnn" : "mlp";
#define EPOCH_NUM(suffix, v)                                                                       \
    do {                                                                                           \
        g_snprintf (key, sizeof key, "%s_epoch_%s", net, suffix);                                  \
        NUM (key, v);                                                                              \
    } while (0)
            EPOCH_NUM ("step_samples_per_s", ep[i]->step);
            EPOCH_NUM ("train_samples_per_s", ep[i]->train);
            EPOCH_NUM ("train_fraction_of_step", ep[i]->train_ratio);
            EPOCH_NUM ("whole_samples_per_s", ep[i]->whole);
            EPOCH_NUM ("whole_fraction_of_step", ep[i]->whole_ratio);
#undef EPOCH_NUM
        }
        for (int i = 0; i < 2; i++) {
            static const char *const nets[2] = {"mlp", "cnn_narrow"};
            const PbFigure *p = &pb[i];
            const double f[6] = {p->phase,     p->neuron,     p->ratio,
                                 p->phase_cpu, p->neuron_cpu, p->ratio_cpu};
            static const char *const what[6] = {
                "phase_epoch_seconds",     "neuron_epoch_seconds",     "phase_over_neuron",
                "phase_epoch_cpu_seconds", "neuron_epoch_cpu_seconds", "phase_over_neuron_cpu"};
            for (int j = 0; j < 6; j++) {
                char key[64];
                g_snprintf (key, sizeof key, "%s_pb_%s", nets[i], what[j]);
                NUM (key, f[j]);
            }
        }
        NUM ("fashion_cnn_peak_rss_mb", mem);
        NUM ("fashion_cnn_epoch_seconds", mem_secs);
        json_builder_end_object (b);
        g_autoptr (JsonNode) root = json_builder_get_root (b);
        if (!dn_json_save (root, json_path, &error)) {
            fprintf (stderr, "dn-bench: %s\n", error->message);
            return 1;
        }
        printf ("results written to %s\n", json_path);
    }
    return 0;
}
