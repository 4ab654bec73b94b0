/* dn-trainer.c: the worker thread, its observer and the coalesced hand-over. */
#include "dn-trainer.h"

#include "dn-error.h"
#include "dn-run-writer.h"
#include "dn-run.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct _DnTrainer {
    GObject parent_instance;

    /* shared with the worker, under lock */
    GMutex lock;
    DnRunSnapshot *pending; /* mutable while under construction; never handed out */
    GSource *source;        /* the one delivery source, or NULL */
    gint64 last_delivery;
    gint64 interval;

    /* main thread */
    DnRunSnapshot *snapshot;
    gboolean running;
    guint n_deliveries;
    guint64 serial;
    gint cancel; /* raised by Stop, polled by the run between batches */
};

G_DEFINE_FINAL_TYPE (DnTrainer, dn_trainer, G_TYPE_OBJECT)

enum { SIGNAL_PROGRESS, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

enum { PROP_0, PROP_RUNNING, N_PROPS };
static GParamSpec *props[N_PROPS];

typedef struct {
    DnTrainer *trainer; /* a reference */
    DnExperiment *exp;
    DnRunOptions opts;
    char *out_dir, *device, *resume_dir, *init_model;
    DnRunWriter *writer;
    GError *write_error;
} Job;

static void job_free (gpointer p)
{
    Job *job = p;
    g_object_unref (job->trainer);
    dn_experiment_free (job->exp);
    g_free (job->out_dir);
    g_free (job->device);
    g_free (job->resume_dir);
    g_free (job->init_model);
    if (job->writer != NULL)
        g_clear_error (&(GError *){dn_run_writer_free (job->writer)});
    g_clear_error (&job->write_error);
    g_free (job);
}

void dn_trainer_options_clear (DnTrainerOptions *opts)
{
    g_clear_pointer (&opts->out_dir, g_free);
    g_clear_pointer (&opts->device, g_free);
    g_clear_pointer (&opts->resume_dir, g_free);
    g_clear_pointer (&opts->init_model, g_free);
}

static void dn_trainer_finalize (GObject *object)
{
    DnTrainer *self = DN_TRAINER (object);
    g_mutex_clear (&self->lock);
    dn_run_snapshot_unref (self->pending);
    dn_run_snapshot_unref (self->snapshot);
    G_OBJECT_CLASS (dn_trainer_parent_class)->finalize (object);
}

static void dn_trainer_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
    DnTrainer *self = DN_TRAINER (object);
    switch (id) {
    case PROP_RUNNING:
        g_value_set_boolean (value, self->running);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void dn_trainer_class_init (DnTrainerClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS (klass);
    object_class->finalize = dn_trainer_finalize;
    object_class->get_property = dn_trainer_get_property;
    props[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties (object_class, N_PROPS, props);
    /* progress (DnRunSnapshot *snapshot): at most every 100 ms, on the main thread */
    signals[SIGNAL_PROGRESS] =
        g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, DN_TYPE_RUN_SNAPSHOT | G_SIGNAL_TYPE_STATIC_SCOPE);
    /* finished (DnRunSnapshot *snapshot): the run ended (finished, stopped or failed) */
    signals[SIGNAL_FINISHED] =
        g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, DN_TYPE_RUN_SNAPSHOT | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void dn_trainer_init (DnTrainer *self)
{
    g_mutex_init (&self->lock);
    self->interval = 100 * G_TIME_SPAN_MILLISECOND;
    self->snapshot = dn_run_snapshot_new ();
}

DnTrainer *dn_trainer_new (void)
{
    return g_object_new (DN_TYPE_TRAINER, NULL);
}

gboolean dn_trainer_is_running (DnTrainer *self)
{
    return self->running;
}

DnRunSnapshot *dn_trainer_get_snapshot (DnTrainer *self)
{
    return self->snapshot;
}

guint dn_trainer_get_n_deliveries (DnTrainer *self)
{
    return self->n_deliveries;
}

void dn_trainer_set_interval (DnTrainer *self, gint64 usec)
{
    g_mutex_lock (&self->lock);
    self->interval = MAX (usec, 0);
    g_mutex_unlock (&self->lock);
}

/* ---- main thread: turning the pending state into a snapshot ---- */

static DnRunSnapshot *copy_pending_locked (DnTrainer *self)
{
    const DnRunSnapshot *p = self->pending;
    DnRunSnapshot *s = dn_run_snapshot_new ();
    GPtrArray *log = s->log;
    *s = *p;
    s->log = log;
    for (guint i = 0; i < p->log->len; i++)
        g_ptr_array_add (s->log, g_strdup (p->log->pdata[i]));
    s->status = g_strdup (p->status);
    s->run_dir = g_strdup (p->run_dir);
    s->device = g_strdup (p->device);
    s->model_path = g_strdup (p->model_path);
    s->summary = g_strdup (p->summary);
    s->error = g_strdup (p->error);
    s->shared = dn_shared_tracker_ref (p->shared);
    s->accuracy = p->accuracy != NULL ? g_bytes_ref (p->accuracy) : NULL;
    s->activity = p->activity != NULL ? g_bytes_ref (p->activity) : NULL;
    s->activity_layer = g_strdup (p->activity_layer);
    s->serial = ++self->serial;
    return s;
}

static void deliver (DnTrainer *self)
{
    g_mutex_lock (&self->lock);
    if (self->source != NULL) {
        g_source_destroy (self->source);
        g_source_unref (self->source);
        self->source = NULL;
    }
    self->last_delivery = g_get_monotonic_time ();
    DnRunSnapshot *s = copy_pending_locked (self);
    g_mutex_unlock (&self->lock);
    dn_run_snapshot_unref (self->snapshot);
    self->snapshot = s;
    self->n_deliveries++;
    g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, s);
}

static gboolean deliver_cb (gpointer data)
{
    deliver (DN_TRAINER (data));
    return G_SOURCE_REMOVE;
}

/* Called with the lock held: one source at a time, no closer than the interval. */
static void schedule_locked (DnTrainer *self)
{
    if (self->source != NULL)
        return;
    gint64 wait = self->last_delivery + self->interval - g_get_monotonic_time ();
    GSource *src =
        wait > 1000 ? g_timeout_source_new ((guint) (wait / 1000)) : g_idle_source_new ();
    g_source_set_priority (src, G_PRIORITY_DEFAULT);
    g_source_set_callback (src, deliver_cb, g_object_ref (self), g_object_unref);
    g_source_set_static_name (src, "[dendrite] run snapshot");
    self->source = src;
    g_source_attach (src, NULL);
}

/* ---- the worker's observer ---- */

static void set_str (char **field, const char *value)
{
    if (g_strcmp0 (*field, value) == 0)
        return;
    g_free (*field);
    *field = g_strdup (value);
}

static char *plain_status (const DnEvent *ev)
{
    if (ev->kind == DN_EVENT_START)
        return g_strdup (_ ("Training without dendrites"));
    return g_strdup_printf (_ ("Training without dendrites · epoch %d of %d"), ev->epoch,
                            ev->epochs);
}

/* Continual runs: "Task 3 of 10 · epoch 2 of 3", from the pending state. */
static char *continual_status (const DnRunSnapshot *p, const DnEvent *ev)
{
    if (ev->kind == DN_EVENT_DONE)
        return ev->cancelled || !isfinite (ev->average_accuracy)
                   ? g_strdup (_ ("Stopped before the last task"))
                   : g_strdup_printf (_ ("Average accuracy over all %d tasks: %.2f %%"), p->tasks,
                                      ev->average_accuracy);
    if (ev->kind == DN_EVENT_TASK)
        return g_strdup_printf (_ ("Task %d of %d done · mean accuracy over the tasks so far "
                                   "%.2f %%"),
                                ev->task + 1, p->tasks, ev->test_acc);
    if (p->epochs > 0 && p->epoch >= p->epochs)
        return g_strdup_printf (_ ("Task %d of %d · measuring the accuracy of every task so far"),
                                p->task + 1, p->tasks);
    return g_strdup_printf (_ ("Task %d of %d · epoch %d of %d"), p->task + 1, p->tasks,
                            MIN (p->epoch + 1, MAX (p->epochs, 1)), MAX (p->epochs, 1));
}

/* The matrix of a continual event, kept as it was when nothing changed (charts
 * redraw only for a new one). */
static void take_matrix (DnRunSnapshot *p, const DnEvent *ev)
{
    if (ev->accuracy_matrix == NULL || ev->tasks <= 0)
        return;
    gsize size = (gsize) ev->tasks * ev->tasks * sizeof (double);
    if (p->accuracy != NULL && g_bytes_get_size (p->accuracy) == size &&
        memcmp (g_bytes_get_data (p->accuracy, NULL), ev->accuracy_matrix, size) == 0)
        return;
    g_clear_pointer (&p->accuracy, g_bytes_unref);
    p->accuracy = g_bytes_new (ev->accuracy_matrix, size);
}

static void on_event (const DnEvent *ev, gpointer user_data)
{
    Job *job = user_data;
    DnTrainer *self = job->trainer;
    if (job->writer != NULL)
        dn_run_writer_event (job->writer, ev);

    /* the history to chart, plain runs included: an immutable copy for the main thread */
    const DnTracker *t = ev->tracker;
    DnSharedTracker *fresh = NULL;
    if (t != NULL && ev->kind != DN_EVENT_BATCH && ev->kind != DN_EVENT_LOG)
        fresh = dn_shared_tracker_new (dn_tracker_copy (t));

    g_mutex_lock (&self->lock);
    DnRunSnapshot *p = self->pending;
    gboolean continual = ev->tasks > 0;
    if (continual) {
        p->dendritic = FALSE;
        p->tasks = ev->tasks;
        take_matrix (p, ev);
    }
    if (fresh != NULL) {
        dn_shared_tracker_unref (p->shared);
        p->shared = fresh;
    }
    if (t != NULL) {
        p->dendritic = !dn_tracker_is_recorder (t);
        if (p->dendritic) {
            /* in a dendrite phase the network also holds the candidates, not yet a set */
            DnTrackerStatus st;
            dn_tracker_get_status (t, &st);
            p->dendrites = st.mode == DN_TRACKER_MODE_DENDRITE ? st.dendrites : ev->dendrites;
        }
    }
    if (p->state == DN_RUN_STOPPING) {
        /* keep saying so until the run has stopped */
    } else if (ev->status != NULL) {
        g_autofree char *cap = g_strdup (ev->status);
        cap[0] = g_ascii_toupper (cap[0]);
        set_str (&p->status, cap);
    } else if (!continual && !p->dendritic && ev->kind != DN_EVENT_BATCH &&
               ev->kind != DN_EVENT_LOG) {
        g_free (p->status);
        p->status = plain_status (ev);
    }
    switch (ev->kind) {
    case DN_EVENT_START:
        p->state = DN_RUN_TRAINING;
        p->epoch = ev->epoch;
        p->epochs = ev->epochs;
        p->n_batches = ev->n_batches;
        p->params = ev->params;
        p->train_samples = ev->train_samples;
        p->val_samples = ev->val_samples;
        p->test_samples = ev->test_samples;
        p->best_val = ev->best_val;
        p->test_at_best = ev->test_at_best_val;
        p->best_epoch = ev->best_epoch;
        set_str (&p->run_dir, ev->run_dir);
        set_str (&p->device, ev->device);
        break;
    case DN_EVENT_BATCH:
        if (continual) {
            p->task = ev->task;
            p->epoch = ev->epoch - 1; /* epochs completed in this task */
            p->epochs = ev->epochs;
        }
        p->batch = ev->batch;
        p->n_batches = ev->n_batches;
        p->samples_per_s = ev->samples_per_s;
        p->eta_epoch = ev->eta_seconds;
        p->loss = ev->loss;
        p->train_acc = ev->train_acc;
        p->lr = ev->lr;
        break;
    case DN_EVENT_EPOCH:
        p->task = continual ? ev->task : p->task;
        p->epoch = ev->epoch;
        p->epochs = ev->epochs;
        p->batch = 0;
        p->eta_epoch = 0;
        p->eta_run = ev->eta_seconds;
        p->last_epoch_seconds = ev->seconds;
        p->loss = ev->loss;
        p->train_acc = ev->train_acc;
        p->val_acc = ev->val_acc;
        p->test_acc = ev->test_acc;
        p->lr = ev->lr;
        p->best_val = ev->best_val;
        p->test_at_best = ev->test_at_best_val;
        p->best_epoch = ev->best_epoch;
        p->params = ev->params;
        break;
    case DN_EVENT_DECISION:
        if (ev->message != NULL)
            g_ptr_array_add (p->log, g_strdup_printf (_ ("Epoch %d · %s"), ev->epoch, ev->message));
        p->dendrites = ev->dendrites;
        break;
    case DN_EVENT_LOG:
        if (ev->message != NULL)
            g_ptr_array_add (p->log, g_strdup (ev->message));
        break;
    case DN_EVENT_DONE:
        p->epoch = ev->epoch;
        p->best_val = ev->best_val;
        p->test_at_best = ev->test_at_best_val;
        p->best_epoch = ev->best_epoch;
        p->params = ev->params;
        p->eta_run = 0;
        p->eta_epoch = 0;
        set_str (&p->summary, ev->message);
        set_str (&p->model_path, ev->model_path);
        set_str (&p->run_dir, ev->run_dir);
        if (continual) {
            p->epoch = p->epochs;
            p->average_accuracy = ev->average_accuracy;
            g_clear_pointer (&p->activity, g_bytes_unref);
            if (ev->activity != NULL && ev->activity_units > 0)
                p->activity = g_bytes_new (ev->activity,
                                           (gsize) ev->tasks * ev->activity_units * sizeof (float));
            p->activity_units = ev->activity != NULL ? ev->activity_units : 0;
            set_str (&p->activity_layer, ev->activity_layer);
        }
        break;
    case DN_EVENT_TASK:
        g_ptr_array_add (p->log, g_strdup_printf (_ ("Task %d of %d done: %.2f %% mean accuracy "
                                                     "over the tasks so far"),
                                                  ev->task + 1, ev->tasks, ev->test_acc));
        p->tasks_done = ev->task + 1;
        break;
    case DN_EVENT_SNAPSHOT:
        break;
    }
    if (continual && p->state != DN_RUN_STOPPING && ev->kind != DN_EVENT_LOG &&
        ev->kind != DN_EVENT_SNAPSHOT) {
        g_free (p->status);
        p->status = continual_status (p, ev);
    }
    if (p->state == DN_RUN_PREPARING)
        p->state = DN_RUN_TRAINING;
    schedule_locked (self);
    g_mutex_unlock (&self->lock);
}

static void run_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    Job *job = data;
    /* Training takes every core; the window must still get them the moment it
     * needs them. Linux applies nice per thread, and the engine's worker pool
     * is started from this thread, so its workers inherit the lower priority. */
    if (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 10) != 0)
        g_debug ("could not lower the training thread's priority: %s", g_strerror (errno));
    DnObserver obs = {.event = on_event, .user_data = job, .cancel = &job->trainer->cancel};
    DnRunResult result = {0};
    GError *error = NULL;
    gboolean ok = job->resume_dir != NULL
                      ? dn_experiment_resume (job->resume_dir, &job->opts, &obs, &result, &error)
                      : dn_experiment_run (job->exp, &job->opts, &obs, &result, &error);
    job->write_error = dn_run_writer_free (job->writer);
    job->writer = NULL;
    dn_run_result_clear (&result);
    if (!ok)
        g_task_return_error (task, error);
    else
        g_task_return_boolean (task, TRUE);
}

static void run_done (GObject *source, GAsyncResult *res, gpointer data)
{
    DnTrainer *self = DN_TRAINER (source);
    Job *job = g_task_get_task_data (G_TASK (res));
    GError *error = NULL;
    gboolean ok = g_task_propagate_boolean (G_TASK (res), &error);
    g_mutex_lock (&self->lock);
    DnRunSnapshot *p = self->pending;
    if (!ok) {
        p->state = DN_RUN_FAILED;
        set_str (&p->error, error->message);
        g_ptr_array_add (p->log, g_strdup (error->message));
    } else {
        p->state = g_atomic_int_get (&self->cancel) ? DN_RUN_STOPPED : DN_RUN_FINISHED;
        const DnTracker *t = dn_run_snapshot_get_tracker (p);
        if (p->state == DN_RUN_STOPPED && p->tasks == 0) {
            /* no longer "Stopping…": where the tracker stands, as a reopened run says */
            g_clear_pointer (&p->status, g_free);
            if (p->dendritic && t != NULL) {
                p->status = dn_tracker_status_text (t);
                p->status[0] = g_ascii_toupper (p->status[0]);
            }
        }
        if (job->write_error != NULL) {
            g_ptr_array_add (p->log,
                             g_strdup_printf (_ ("Some files of the run folder could not be "
                                                 "written: %s"),
                                              job->write_error->message));
        }
    }
    g_mutex_unlock (&self->lock);
    g_clear_error (&error);
    self->running = FALSE;
    deliver (self);
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RUNNING]);
    g_signal_emit (self, signals[SIGNAL_FINISHED], 0, self->snapshot);
}

gboolean dn_trainer_start (DnTrainer *self, DnExperiment *exp, const DnTrainerOptions *opts,
                           GError **error)
{
    if (self->running) {
        dn_experiment_free (exp);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, _ ("A run is already going on"));
        return FALSE;
    }
    Job *job = g_new0 (Job, 1);
    job->trainer = g_object_ref (self);
    job->exp = exp;
    job->out_dir = g_strdup (opts->out_dir);
    job->device = g_strdup (opts->device);
    job->resume_dir = g_strdup (opts->resume_dir);
    job->opts.out_dir = job->resume_dir == NULL ? job->out_dir : NULL;
    job->opts.device = job->device;
    job->opts.threads = opts->threads;
    job->opts.batch_every = 5;
    job->opts.resume_dir = job->resume_dir;
    job->opts.overwrite = opts->overwrite;
    job->init_model = job->resume_dir == NULL ? g_strdup (opts->init_model) : NULL;
    job->opts.init_model = job->init_model;
    job->writer = dn_run_writer_new ();

    g_mutex_lock (&self->lock);
    dn_run_snapshot_unref (self->pending);
    self->pending = dn_run_snapshot_new ();
    self->pending->state = DN_RUN_PREPARING;
    /* a resumed run says which it is with its first event */
    self->pending->dendritic = exp != NULL && exp->dendrites;
    if (exp != NULL && exp->continual) {
        /* the task charts show the tasks from the start */
        size_t cells = (size_t) exp->cl.tasks * exp->cl.tasks;
        double *m = g_new (double, cells);
        for (size_t i = 0; i < cells; i++)
            m[i] = NAN;
        self->pending->dendritic = FALSE;
        self->pending->tasks = exp->cl.tasks;
        self->pending->epochs = exp->cl.epochs_per_task;
        self->pending->accuracy = g_bytes_new_take (m, cells * sizeof (double));
    }
    if (job->resume_dir != NULL) {
        /* the decisions so far are in the folder's log: the resumed run goes on from them */
        g_autofree char *path = g_build_filename (job->resume_dir, "experiment.json", NULL);
        g_autoptr (DnExperiment) saved = dn_experiment_load (path, NULL);
        g_ptr_array_unref (self->pending->log);
        self->pending->log = dn_run_snapshot_read_log (
            job->resume_dir, saved != NULL && saved->continual ? saved->cl.tasks : 0);
    }
    self->pending->status =
        g_strdup (job->resume_dir != NULL ? _ ("Resuming the run…") : _ ("Loading the data…"));
    self->last_delivery = 0;
    g_mutex_unlock (&self->lock);
    g_atomic_int_set (&self->cancel, 0);
    self->running = TRUE;
    self->serial = 0;
    deliver (self);
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RUNNING]);

    GTask *task = g_task_new (self, NULL, run_done, NULL);
    g_task_set_task_data (task, job, job_free);
    g_task_set_name (task, "[dendrite] training");
    g_task_run_in_thread (task, run_thread);
    g_object_unref (task);
    return TRUE;
}

void dn_trainer_stop (DnTrainer *self)
{
    if (!self->running)
        return;
    g_atomic_int_set (&self->cancel, 1);
    g_mutex_lock (&self->lock);
    if (self->pending->state == DN_RUN_TRAINING || self->pending->state == DN_RUN_PREPARING) {
        self->pending->state = DN_RUN_STOPPING;
        set_str (&self->pending->status, _ ("Stopping after this batch…"));
    }
    schedule_locked (self);
    g_mutex_unlock (&self->lock);
}
