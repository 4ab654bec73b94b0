/* test-tracker-state.c: the tracker saved and restored (an exact resume at
 * every point of a run), copied, recording a run without dendrites, and the
 * errors a damaged state gives. */
#include "dn-tracker-test.h"

/* ---- resume ---- */

/* Scores for the resume run: the sweep script, then a set that fails twice,
 * a set that is kept, and a final failure. */
static double resume_score (int call)
{
    int n = G_N_ELEMENTS (sweep_script);
    if (call < n)
        return sweep_script[call];
    call -= n;
    if (call < 40)
        return 50 + (call % 7) * 0.5; /* never beats 67 */
    if (call < 60)
        return 68 + (call - 40); /* beats it */
    return 60;
}

static char *state_text (const DnTracker *t)
{
    return dn_tracker_state_to_string (t);
}

static DnTracker *through_text (const DnTracker *t)
{
    g_autofree char *text = state_text (t);
    g_autoptr (GError) error = NULL;
    DnTracker *back = dn_tracker_state_from_string (text, &error);
    g_assert_no_error (error);
    g_assert_nonnull (back);
    return back;
}

static DnTracker *resume_tracker (void)
{
    DnTrackerConfig c = sweep_config ();
    DnSchedConfig sched = step_sched ();
    DnTracker *t = make (&c, &sched, 1.0);
    const char *names[] = {"Train"};
    g_assert_true (dn_tracker_set_extra_names (t, names, 1, NULL));
    dn_tracker_set_score_unit (t, "%");
    return t;
}

static gboolean feed_resume (DnTracker *t, int call, DnTrackerAction *a)
{
    double extra = resume_score (call) + 1;
    DnTrackerScores s = {.val = resume_score (call),
                         .test = call % 5 == 0 ? NAN : resume_score (call) - 2,
                         .extra = &extra,
                         .n_extra = 1,
                         .seconds = 1.5 + call,
                         .params = params_of (t)};
    return dn_tracker_add_score (t, &s, a, NULL);
}

static void assert_same_action (const DnTrackerAction *x, const DnTrackerAction *y, int call)
{
    g_autofree char *ox = ops_text (x);
    g_autofree char *oy = ops_text (y);
    if (x->decision != y->decision || g_strcmp0 (ox, oy) != 0 ||
        g_strcmp0 (x->message, y->message) != 0 || x->lr != y->lr || x->dendrites != y->dendrites ||
        x->restored_epoch != y->restored_epoch || x->new_best != y->new_best ||
        x->epoch != y->epoch)
        g_error ("call %d: resumed run decided \"%s\" [%s], original \"%s\" [%s]", call, y->message,
                 oy, x->message, ox);
}

typedef gboolean (*FeedFunc) (DnTracker *t, int call, DnTrackerAction *a);

/* The uninterrupted run: what it decided at every call, and its final state. */
static GArray *run_to_completion (FeedFunc feed_call, char **final_state)
{
    g_autoptr (DnTracker) ref = resume_tracker ();
    GArray *actions = g_array_new (FALSE, FALSE, sizeof (DnTrackerAction));
    for (int call = 0; call < 500; call++) {
        DnTrackerAction a;
        g_assert_true (feed_call (ref, call, &a));
        g_array_append_val (actions, a);
        if (a.complete)
            break;
    }
    *final_state = state_text (ref);
    return actions;
}

static void test_resume (void)
{
    /* the uninterrupted run, and what it decided */
    g_autofree char *final_ref = NULL;
    GArray *actions = run_to_completion (feed_resume, &final_ref);
    int counts[DN_TRACKER_COMPLETE + 1] = {0};
    for (guint i = 0; i < actions->len; i++)
        counts[g_array_index (actions, DnTrackerAction, i).decision]++;
    int n = (int) actions->len;
    g_test_message ("resume run: %d calls, %d add, %d retry, %d restart, %d complete", n,
                    counts[DN_TRACKER_ADD_DENDRITES], counts[DN_TRACKER_RETRY],
                    counts[DN_TRACKER_RESTART_LR], counts[DN_TRACKER_COMPLETE]);
    g_assert_cmpint (counts[DN_TRACKER_ADD_DENDRITES], >=, 2);
    g_assert_cmpint (counts[DN_TRACKER_RETRY], >=, 1);
    g_assert_cmpint (counts[DN_TRACKER_RESTART_LR], >=, 3);
    g_assert_cmpint (counts[DN_TRACKER_COMPLETE], ==, 1);

    /* interrupted after every call: saved, reloaded, continued */
    for (int split = 0; split < n; split++) {
        g_autoptr (DnTracker) first = resume_tracker ();
        DnTrackerAction a;
        for (int call = 0; call < split; call++)
            g_assert_true (feed_resume (first, call, &a));
        g_autoptr (DnTracker) resumed = through_text (first);
        /* the text is a fixed point */
        g_autofree char *t1 = state_text (first);
        g_autofree char *t2 = state_text (resumed);
        g_assert_cmpstr (t1, ==, t2);
        g_assert_cmpfloat (dn_tracker_lr (resumed), ==, dn_tracker_lr (first));
        for (int call = split; call < n; call++) {
            g_assert_true (feed_resume (resumed, call, &a));
            assert_same_action (&g_array_index (actions, DnTrackerAction, call), &a, call);
        }
        g_autofree char *final = state_text (resumed);
        g_assert_cmpstr (final, ==, final_ref);
    }
    g_array_unref (actions);
}

/* The resume run with two correlation series. */
static void set_correlations (DnTracker *t, int call)
{
    const char *names[] = {"fc1", "fc2"};
    double values[] = {0.01 * (call % 50), call % 3 == 0 ? NAN : -0.5};
    dn_tracker_set_correlations (t, names, values, 2);
}

static gboolean feed_correlated (DnTracker *t, int call, DnTrackerAction *a)
{
    set_correlations (t, call);
    return feed_resume (t, call, a);
}

/* A copy taken between any two calls (with the next call's correlations already
 * given) goes on exactly as the original would, whatever the original does after. */
static void test_copy (void)
{
    g_autofree char *final_ref = NULL;
    GArray *actions = run_to_completion (feed_correlated, &final_ref);
    int n = (int) actions->len;
    for (int split = 0; split < n; split++) {
        DnTracker *first = resume_tracker ();
        DnTrackerAction a;
        for (int call = 0; call < split; call++)
            g_assert_true (feed_correlated (first, call, &a));
        set_correlations (first, split);
        g_autoptr (DnTracker) copy = dn_tracker_copy (first);
        g_autofree char *t1 = state_text (first);
        g_autofree char *t2 = state_text (copy);
        g_assert_cmpstr (t1, ==, t2);
        /* the original trains on and goes away: the copy shares nothing with it */
        g_assert_true (feed_resume (first, split, &a));
        g_autofree char *t3 = state_text (copy);
        g_assert_cmpstr (t3, ==, t2);
        dn_tracker_free (first);
        for (int call = split; call < n; call++) {
            g_assert_true (call == split ? feed_resume (copy, call, &a)
                                         : feed_correlated (copy, call, &a));
            assert_same_action (&g_array_index (actions, DnTrackerAction, call), &a, call);
        }
        g_autofree char *final = state_text (copy);
        g_assert_cmpstr (final, ==, final_ref);
        g_assert_cmpint (dn_tracker_n_correlations (copy), ==, 2);
        g_assert_cmpstr (dn_tracker_correlation_name (copy, 1), ==, "fc2");
        g_assert_cmpstr (dn_tracker_extra_name (copy, 0), ==, "Train");
    }
    g_array_unref (actions);
}

/* A recorder keeps the history of a run that decides for itself: the rates it is
 * given, no operation, no decision, never complete, through its text and a copy. */
static void test_recorder (void)
{
    g_autoptr (DnTracker) t = dn_tracker_new_recorder ();
    g_assert_true (dn_tracker_is_recorder (t));
    const char *names[] = {"Train"};
    g_assert_true (dn_tracker_set_extra_names (t, names, 1, NULL));
    for (int i = 0; i < 40; i++) {
        double extra = i;
        DnTrackerScores s = {.val = rising_then_flat (i),
                             .test = 40 + i,
                             .extra = &extra,
                             .n_extra = 1,
                             .seconds = 1,
                             .params = 1000,
                             .lr = pow (0.7, i)};
        DnTrackerAction a;
        g_assert_true (dn_tracker_add_score (t, &s, &a, NULL));
        g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
        g_assert_cmpint (a.n_ops, ==, 0);
        g_assert_false (a.complete || a.rebuild_optimizer || a.restructured);
    }
    g_assert_false (dn_tracker_is_complete (t));
    g_assert_cmpint (n_rows (t), ==, 40);
    for (int i = 0; i < 40; i++) {
        g_assert_cmpfloat (row (t, i)->lr, ==, pow (0.7, i));
        g_assert_cmpfloat (row (t, i)->val, ==, rising_then_flat (i));
        g_assert_cmpfloat (row (t, i)->extra[0], ==, i);
    }
    g_autoptr (DnTracker) back = through_text (t);
    g_autoptr (DnTracker) copy = dn_tracker_copy (back);
    g_assert_true (dn_tracker_is_recorder (back) && dn_tracker_is_recorder (copy));
    g_autofree char *text = state_text (t);
    g_autofree char *copy_text = state_text (copy);
    g_assert_cmpstr (copy_text, ==, text);

    /* it records the rate it is given, so it must be one */
    DnTrackerScores nan_rate = {
        .val = 50, .test = NAN, .extra = (double[]){1}, .n_extra = 1, .lr = NAN};
    DnTrackerAction a;
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_tracker_add_score (t, &nan_rate, &a, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NUMERIC);
    /* a deciding tracker is none, and says nothing of it in its state */
    g_autoptr (DnTracker) decides = resume_tracker ();
    g_autofree char *decides_text = state_text (decides);
    g_assert_false (dn_tracker_is_recorder (decides));
    g_assert_null (strstr (decides_text, "recorder"));
    /* a recorder that would switch is a damaged state */
    static const struct {
        const char *from, *to, *needle;
    } edits[] = {
        {"\"switch_mode\":\"never\"", "\"switch_mode\":\"history\"", "a recorder that switches"},
        {"\"recorder\":true", "\"recorder\":1", "recorder"},
    };
    for (guint i = 0; i < G_N_ELEMENTS (edits); i++) {
        const char *at = strstr (text, edits[i].from);
        g_assert_nonnull (at);
        g_autofree char *head = g_strndup (text, at - text);
        g_autofree char *bad = g_strconcat (head, edits[i].to, at + strlen (edits[i].from), NULL);
        g_autoptr (GError) e = NULL;
        g_assert_null (dn_tracker_state_from_string (bad, &e));
        g_assert_error (e, DN_ERROR, DN_ERROR_FORMAT);
        g_assert_nonnull (strstr (e->message, edits[i].needle));
    }
}

static void test_state_errors (void)
{
    g_autoptr (DnTracker) t = resume_tracker ();
    DnTrackerAction a;
    for (int call = 0; call < 30; call++)
        g_assert_true (feed_resume (t, call, &a));
    g_autofree char *good = state_text (t);
    gsize len = strlen (good);

    static const struct {
        const char *text;
        int code;
    } bad[] = {
        {"", DN_ERROR_FORMAT},
        {"not json", DN_ERROR_FORMAT},
        {"[1, 2]", DN_ERROR_FORMAT},
        {"{}", DN_ERROR_FORMAT},
        {"{\"format\": \"dendrite-studio-tracker\", \"version\": 2}", DN_ERROR_UNSUPPORTED},
        {"{\"format\": \"dendrite-studio-tracker\", \"version\": 1}", DN_ERROR_FORMAT},
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autoptr (GError) error = NULL;
        g_assert_null (dn_tracker_state_from_string (bad[i].text, &error));
        g_assert_error (error, DN_ERROR, bad[i].code);
    }

    /* every truncation is an error */
    for (gsize cut = 0; cut < len; cut += 13) {
        g_autofree char *prefix = g_strndup (good, cut);
        g_autoptr (GError) error = NULL;
        g_assert_null (dn_tracker_state_from_string (prefix, &error));
        g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
    }

    /* targeted damage, each named in the message */
    static const struct {
        const char *from, *to, *needle;
    } edits[] = {
        {"\"epoch\":[0,1,2", "\"epoch\":[0,2,2", "row numbers"},
        {"\"val\":[10,", "\"val\":[\"x\",", "state.rows.val[0]"},
        {"\"num_epochs_run\":", "\"num_epochs_run\":1", "epoch counter"},
        {"\"committed\":", "\"committed\":0,\"x\":", "state.committed"},
        {"\"kind\":\"add\"", "\"kind\":\"grow\"", "kind"},
        {"\"switch_mode\":\"history\"", "\"switch_mode\":\"often\"", "switch_mode"},
        {"\"extra_names\":[\"Train\"]", "\"extra_names\":[]", "extra"},
        {"\"total_epochs\":", "\"total_epochs\":-", "total_epochs"},
        {"\"type\":\"step\"", "\"type\":\"zigzag\"", "type"},
        {"\"format\":\"dendrite-studio-tracker\"", "\"format\":\"other\"", "format"},
    };
    for (guint i = 0; i < G_N_ELEMENTS (edits); i++) {
        const char *at = strstr (good, edits[i].from);
        if (at == NULL)
            g_error ("edit %u: \"%s\" not in the state", i, edits[i].from);
        GString *s = g_string_new_len (good, at - good);
        g_string_append (s, edits[i].to);
        g_string_append (s, at + strlen (edits[i].from));
        g_autoptr (GError) error = NULL;
        DnTracker *back = dn_tracker_state_from_string (s->str, &error);
        if (back != NULL)
            g_error ("edit %u (%s) was accepted", i, edits[i].to);
        g_assert_nonnull (error);
        if (strstr (error->message, edits[i].needle) == NULL)
            g_error ("edit %u: message \"%s\" lacks \"%s\"", i, error->message, edits[i].needle);
        g_string_free (s, TRUE);
    }

    /* Arbitrary one-character damage: an error or a tracker that still
     * works, never a crash (this test runs under ASan and UBSan too). */
    const char replacements[] = "9-\"x{}[],:0e.";
    for (gsize pos = 0, j = 0; pos < len; pos += 7, j++) {
        g_autofree char *copy = g_strdup (good);
        copy[pos] = replacements[j % (sizeof replacements - 1)];
        g_autoptr (GError) error = NULL;
        DnTracker *back = dn_tracker_state_from_string (copy, &error);
        if (back == NULL) {
            g_assert_nonnull (error);
            continue;
        }
        for (int call = 30; call < 45; call++) {
            if (!feed_resume (back, call, &a))
                break;
        }
        g_autofree char *status = dn_tracker_status_text (back);
        int nb;
        g_autofree DnTrackerArchScore *best = dn_tracker_best_scores (back, &nb);
        dn_tracker_free (back);
    }
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/tracker/state/resume", test_resume);
    g_test_add_func ("/engine/tracker/state/copy", test_copy);
    g_test_add_func ("/engine/tracker/recorder", test_recorder);
    g_test_add_func ("/engine/tracker/state/errors", test_state_errors);
    return g_test_run ();
}
