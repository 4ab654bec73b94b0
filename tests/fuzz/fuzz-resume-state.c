/* fuzz-resume-state.c: the state `--resume` reads back from a checkpoint, under hostile bytes.
 *
 * latest.safetensors carries the tracker's state ("dendrite_tracker": its
 * configuration, scheduler, history and rollback targets) and the run's counters
 * ("dendrite_run", with the scheduler state of runs without dendrites). The
 * input is read as the tracker state by dn_tracker_state_from_string, the public
 * loader resume uses; a state that loads must write itself out in a form that
 * loads again to the same text (resume is exact), give a finite learning rate,
 * and take a few more epochs the way the training loop feeds them. The input is
 * also read as JSON and its "scheduler" object (or the whole object) given to
 * dn_scheduler_state_from_json for every scheduler kind. Every call must give a
 * result or an error, never both, never neither, and never crash. Built with
 * -DDN_LIBFUZZER it is a libFuzzer target; otherwise main() replays the files
 * and folders given as arguments (the corpus in tests/fuzz/corpus/resume-state/).
 */
#include "dn-json.h"
#include "dn-tracker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void check (gboolean ok, const GError *error, const char *call)
{
    if (ok == (error != NULL)) {
        fprintf (stderr, "fuzz-resume-state: %s returned %s with %s error\n", call,
                 ok ? "a result" : "nothing", error != NULL ? "an" : "no");
        abort ();
    }
}

static void check_lr (double lr, const char *after)
{
    if (!isfinite (lr) || lr < 0) {
        fprintf (stderr, "fuzz-resume-state: learning rate %g after %s\n", lr, after);
        abort ();
    }
}

/* Goes on the way the engine does after a resume: a few epochs of scores. */
static void go_on (DnTracker *t)
{
    double extra[DN_TRACKER_MAX_EXTRA];
    int n_extra = dn_tracker_n_extra (t);
    if (n_extra < 0 || n_extra > DN_TRACKER_MAX_EXTRA)
        abort ();
    for (int i = 0; i < n_extra; i++)
        extra[i] = 0.5 + i;
    for (int e = 0; e < 4 && !dn_tracker_is_complete (t); e++) {
        DnTrackerScores s = {.val = 50.0 + (e % 2) * 10.0,
                             .test = NAN,
                             .extra = extra,
                             .n_extra = n_extra,
                             .seconds = 1.0,
                             .params = 1000 + e};
        DnTrackerAction a;
        GError *error = NULL;
        gboolean ok = dn_tracker_add_score (t, &s, &a, &error);
        check (ok, error, "dn_tracker_add_score");
        g_clear_error (&error);
        if (!ok)
            break;
        if (a.n_ops < 0 || a.n_ops > DN_TRACKER_MAX_OPS)
            abort ();
        check_lr (dn_tracker_lr (t), "an epoch of a resumed run");
    }
    int n = 0;
    const DnTrackerEpoch *rows = dn_tracker_epochs (t, &n);
    if (n < 0 || (n > 0 && rows == NULL))
        abort ();
    DnTrackerStatus status;
    dn_tracker_get_status (t, &status);
    DnTrackerMarkers markers;
    dn_tracker_get_markers (t, &markers);
    for (int i = 0; i < dn_tracker_n_rollbacks (t); i++) {
        DnTrackerRollback r;
        dn_tracker_get_rollback (t, i, &r);
    }
}

static void tracker_state (const char *text)
{
    GError *error = NULL;
    DnTracker *t = dn_tracker_state_from_string (text, &error);
    check (t != NULL, error, "dn_tracker_state_from_string");
    g_clear_error (&error);
    if (t == NULL)
        return;
    /* resume is exact: what loaded writes itself out, and that loads to the same text */
    char *once = dn_tracker_state_to_string (t);
    DnTracker *t2 = dn_tracker_state_from_string (once, &error);
    if (t2 == NULL) {
        fprintf (stderr, "fuzz-resume-state: a loaded state does not load again: %s\n",
                 error != NULL ? error->message : "(no error)");
        abort ();
    }
    char *twice = dn_tracker_state_to_string (t2);
    if (strcmp (once, twice) != 0) {
        fprintf (stderr, "fuzz-resume-state: the state changed on a round trip:\n%s\n%s\n", once,
                 twice);
        abort ();
    }
    check_lr (dn_tracker_lr (t), "loading");
    go_on (t);
    g_free (twice);
    g_free (once);
    dn_tracker_free (t2);
    dn_tracker_free (t);
}

static void scheduler_state (const char *text, size_t size)
{
    JsonNode *root = dn_json_parse (text, (gssize) size, "fuzz.json", NULL);
    if (root == NULL)
        return;
    if (JSON_NODE_HOLDS_OBJECT (root)) {
        JsonObject *o = json_node_get_object (root);
        JsonNode *s = json_object_get_member (o, "scheduler");
        if (s != NULL && JSON_NODE_HOLDS_OBJECT (s))
            o = json_node_get_object (s);
        for (int kind = DN_SCHED_NONE; kind <= DN_SCHED_PLATEAU; kind++) {
            DnSchedConfig cfg;
            dn_sched_config_defaults (&cfg, (DnSchedKind) kind);
            DnScheduler *sched = dn_scheduler_new (&cfg, 0.01);
            GError *error = NULL;
            gboolean ok = dn_scheduler_state_from_json (sched, o, &error);
            check (ok, error, "dn_scheduler_state_from_json");
            g_clear_error (&error);
            if (ok) {
                check_lr (dn_scheduler_lr (sched), "loading a scheduler state");
                for (int e = 0; e < 3; e++) {
                    dn_scheduler_step (sched, 0.5 + e);
                    check_lr (dn_scheduler_lr (sched), "a step of a resumed scheduler");
                }
            }
            dn_scheduler_free (sched);
        }
    }
    json_node_unref (root);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    /* metadata values are strings: the input up to its first NUL */
    char *text = g_strndup ((const char *) data, size);
    tracker_state (text);
    scheduler_state (text, strlen (text));
    g_free (text);
    return 0;
}
