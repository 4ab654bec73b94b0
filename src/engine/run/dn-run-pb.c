/* dn-run-pb.c: the run's side of perforated backpropagation (dn-run-private.h).
 *
 * A dendrite phase starts with one more dendrite set (the candidates, zero output
 * weights) and ends by installing, channel by channel, the candidate weights of the
 * epoch whose score was that channel's best. In between, every batch:
 *   1. the run's step does forward, loss and backward, the nodes in PB_CANDIDATE mode,
 *      so the loss gradient reaches every node's output (its neuron's error signal)
 *      and no dendrite;
 *   2. here, per node: v and e per sample and channel, the epoch's sums of v, e, ve,
 *      v^2, e^2, and, once `initial_correlation_batches` batches have warmed the running
 *      means up, the objective's gradient (ascent: its negative) back into the
 *      candidate's parameters, clipped with `candidate_grad_clipping`;
 *   3. the buffers (running statistics) of everything but the candidates are put back
 *      as they were at the phase's start, so the frozen parts stay bit-identical;
 *   4. the run's optimizer steps the candidates' parameters only (spans).
 * The running means: the plain average of the batch means while warming up (and on
 * the first batch), then m <- 0.99 m + 0.01 batch mean, updated after the batch's
 * gradient. An epoch's score per channel is |cov| (or |Pearson r|) over the epoch's
 * sums, which is what the tracker is told.
 */
#include "dn-error.h"
#include "dn-json.h"
#include "dn-run-private.h"

#include <math.h>
#include <string.h>

#define PB_MEAN_MOMENTUM 0.99

enum { SUM_V, SUM_E, SUM_VE, SUM_VV, SUM_EE, N_SUMS };

static void layer_clear (DnPbLayer *pl)
{
    g_free (pl->name);
    g_free (pl->mean_v);
    g_free (pl->mean_e);
    g_free (pl->best);
    g_free (pl->score);
    g_free (pl->sums);
    g_free (pl->snap);
    memset (pl, 0, sizeof *pl);
}

static void layers_clear (DnPb *pb)
{
    for (int i = 0; i < pb->n_layers; i++)
        layer_clear (&pb->layers[i]);
    g_free (pb->layers);
    pb->layers = NULL;
    pb->n_layers = 0;
    g_free (pb->v);
    g_free (pb->e);
    g_free (pb->dv);
    g_free (pb->bsum);
    pb->v = pb->e = pb->dv = NULL;
    pb->bsum = NULL;
    if (pb->frozen != NULL)
        pb->be->free (pb->be, pb->frozen);
    pb->frozen = NULL;
}

void _dn_pb_clear (DnPb *pb)
{
    layers_clear (pb);
}

void _dn_pb_init (DnPb *pb, const DnPbSettings *cfg, DnBackend *be)
{
    memset (pb, 0, sizeof *pb);
    pb->cfg = cfg;
    pb->be = be;
}

/* The nodes' modes; during a phase every other layer is frozen too (the optimizer steps
 * the candidates only, so no other weight gradient is needed). */
void _dn_pb_apply (DnPb *pb, DnNetwork *net)
{
    for (int i = 0; i < dn_network_n_nodes (net); i++) {
        DnLayer *l = dn_network_node (net, i)->layer;
        if (dn_dendritic_count (l) >= 0)
            dn_dendritic_set_mode (
                l, pb->in_phase ? DN_DENDRITIC_PB_CANDIDATE : DN_DENDRITIC_PB_NEURON,
                pb->cfg->learn_dendrites_live);
        else
            l->frozen = pb->in_phase;
    }
}

/* The per-node records for the network's candidates; snapshots not yet taken. */
static gboolean layers_setup (DnPb *pb, DnNetwork *net, int capacity, GError **error)
{
    layers_clear (pb);
    int cmax = 1;
    pb->layers = g_new0 (DnPbLayer, dn_network_n_dendritic (net));
    for (int i = 0; i < dn_network_n_nodes (net); i++) {
        DnNode *node = dn_network_node (net, i);
        if (dn_dendritic_count (node->layer) < 1)
            continue;
        if (!dn_dendritic_candidate_check (node->layer, error))
            return FALSE;
        DnPbLayer *pl = &pb->layers[pb->n_layers++];
        int C = dn_dendritic_channels (node->layer);
        pl->name = g_strdup (node->name);
        pl->node = i;
        pl->channels = C;
        pl->mean_v = g_new0 (double, C);
        pl->mean_e = g_new0 (double, C);
        pl->best = g_new (double, C);
        pl->score = g_new0 (double, C);
        pl->sums = g_new0 (double, (size_t) N_SUMS *C);
        pl->snap_size = dn_dendritic_candidate_size (node->layer);
        pl->snap = g_new0 (float, MAX (pl->snap_size, 1));
        for (int c = 0; c < C; c++)
            pl->best[c] = -1.0;
        cmax = MAX (cmax, C);
    }
    pb->v = g_new (float, (size_t) capacity *cmax);
    pb->e = g_new (float, (size_t) capacity *cmax);
    pb->dv = g_new (float, (size_t) capacity *cmax);
    pb->bsum = g_new (double, 2 * (size_t) cmax);
    pb->capacity = capacity;
    if (net->n_buffers > 0) {
        pb->frozen = pb->be->alloc (pb->be, net->n_buffers * sizeof (float));
        if (pb->frozen == NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                         "out of memory for a copy of the network's running statistics "
                         "(%zu floats) at the start of a dendrite phase",
                         net->n_buffers);
            return FALSE;
        }
        pb->be->copy (pb->be, pb->frozen, net->buffers, net->n_buffers);
    }
    return TRUE;
}

gboolean _dn_pb_start (DnPb *pb, DnNetwork *net, int capacity, GError **error)
{
    if (!layers_setup (pb, net, capacity, error))
        return FALSE;
    pb->in_phase = TRUE;
    pb->batches = 0;
    for (int i = 0; i < pb->n_layers; i++) {
        DnPbLayer *pl = &pb->layers[i];
        for (int c = 0; c < pl->channels; c++)
            dn_dendritic_candidate_save_channel (dn_network_node (net, pl->node)->layer, pb->be, c,
                                                 pl->snap);
    }
    _dn_pb_apply (pb, net);
    return TRUE;
}

void _dn_pb_end (DnPb *pb, DnNetwork *net)
{
    for (int i = 0; i < pb->n_layers; i++) {
        DnPbLayer *pl = &pb->layers[i];
        dn_dendritic_candidate_load (dn_network_node (net, pl->node)->layer, pb->be, pl->snap);
    }
    pb->in_phase = FALSE;
    layers_clear (pb);
    _dn_pb_apply (pb, net);
}

void _dn_pb_epoch_begin (DnPb *pb)
{
    for (int i = 0; i < pb->n_layers; i++)
        memset (pb->layers[i].sums, 0, sizeof (double) * N_SUMS * pb->layers[i].channels);
}

/* The node's input of the last forward. */
static void node_input (DnNetwork *net, DnNode *node, int batch, DnTensor *x)
{
    if (node->inputs[0] < 0) {
        dn_tensor_view (x, (float *) net->last_input, batch, &net->input_shape);
    } else {
        DnNode *src = dn_network_node (net, node->inputs[0]);
        dn_tensor_view (x, src->out.data, batch, &src->layer->out_shape);
    }
}

static void clip_grads (DnPb *pb, DnLayer *l)
{
    double clip = pb->cfg->candidate_grad_clipping;
    int idx[DN_LAYER_MAX_PARAMS];
    int n = dn_dendritic_candidate_params (l, idx);
    for (int i = 0; i < n; i++) {
        DnParam *p = &l->params[idx[i]];
        if (!p->trainable)
            continue;
        size_t m = (size_t) dn_shape_numel (&p->shape);
        float *g = g_new (float, m);
        pb->be->download (pb->be, g, p->grad, m * sizeof (float));
        for (size_t j = 0; j < m; j++)
            g[j] = (float) CLAMP (g[j], -clip, clip);
        pb->be->upload (pb->be, p->grad, g, m * sizeof (float));
        g_free (g);
    }
}

/* Puts back the frozen running statistics: everything but the candidates'. */
static void restore_buffers (DnPb *pb, DnNetwork *net)
{
    if (pb->frozen == NULL)
        return;
    for (int i = 0; i < pb->n_layers; i++) {
        DnLayer *l = dn_network_node (net, pb->layers[i].node)->layer;
        int idx[DN_LAYER_MAX_PARAMS];
        int n = dn_dendritic_candidate_params (l, idx);
        for (int j = 0; j < n; j++) {
            DnParam *p = &l->params[idx[j]];
            if (!p->trainable)
                pb->be->copy (pb->be, pb->frozen + (p->value - net->buffers), p->value,
                              (size_t) dn_shape_numel (&p->shape));
        }
    }
    pb->be->copy (pb->be, net->buffers, pb->frozen, net->n_buffers);
}

gboolean _dn_pb_after_step (DnPb *pb, DnNetwork *net, int batch, GError **error)
{
    const DnPbSettings *cfg = pb->cfg;
    gboolean learn = pb->batches >= cfg->initial_correlation_batches;
    gboolean averaging = !learn || pb->batches == 0;
    for (int i = 0; i < pb->n_layers; i++) {
        DnPbLayer *pl = &pb->layers[i];
        DnNode *node = dn_network_node (net, pl->node);
        const int C = pl->channels;
        if (!dn_dendritic_candidate_values (node->layer, cfg->correlations_by_mean, batch, pb->v,
                                            pb->e)) {
            g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                         "layer '%s': its candidate dendrite has no output for this batch",
                         pl->name);
            return FALSE;
        }
        /* samples outer, channels inner: every sum still adds its terms in sample order */
        double *s = pl->sums, *bv = pb->bsum, *be = pb->bsum + C;
        memset (pb->bsum, 0, 2 * (size_t) C * sizeof (double));
        for (int b = 0; b < batch; b++) {
            const float *vb = pb->v + (size_t) b * C, *eb = pb->e + (size_t) b * C;
            for (int c = 0; c < C; c++) {
                double v = vb[c], e = eb[c];
                bv[c] += v;
                be[c] += e;
                s[SUM_VE * C + c] += v * e;
                s[SUM_VV * C + c] += v * v;
                s[SUM_EE * C + c] += e * e;
            }
        }
        for (int c = 0; c < C; c++) {
            s[SUM_V * C + c] += bv[c];
            s[SUM_E * C + c] += be[c];
            if (averaging) {
                pl->mean_v[c] += (bv[c] / batch - pl->mean_v[c]) / (double) (pb->batches + 1);
                pl->mean_e[c] += (be[c] / batch - pl->mean_e[c]) / (double) (pb->batches + 1);
            }
        }
        pl->n += batch;
        if (learn) {
            dn_candidate_objective (batch, C, pb->v, pb->e, pl->mean_v, pl->mean_e,
                                    cfg->normalized_covariance, pl->score, pb->dv);
            /* the optimizer descends: the objective rises along -gradient */
            for (size_t j = 0; j < (size_t) batch * C; j++)
                pb->dv[j] = -pb->dv[j];
            DnTensor x;
            node_input (net, node, batch, &x);
            dn_dendritic_candidate_backward (node->layer, &net->ctx, batch, &x, pb->dv,
                                             cfg->correlations_by_mean);
            if (cfg->candidate_grad_clipping > 0.0)
                clip_grads (pb, node->layer);
        }
        if (!averaging) {
            /* the batch means of v and e, which the candidate's backward left as they were */
            for (int c = 0; c < C; c++) {
                pl->mean_v[c] =
                    PB_MEAN_MOMENTUM * pl->mean_v[c] + (1 - PB_MEAN_MOMENTUM) * bv[c] / batch;
                pl->mean_e[c] =
                    PB_MEAN_MOMENTUM * pl->mean_e[c] + (1 - PB_MEAN_MOMENTUM) * be[c] / batch;
            }
        }
    }
    restore_buffers (pb, net);
    pb->batches++;
    return TRUE;
}

/* Appends the trainable params of node layer l that `want` picks as (offset, length). */
static void add_spans (GArray *spans, DnNetwork *net, DnLayer *l, const gboolean *want)
{
    for (int j = 0; j < l->n_params; j++) {
        DnParam *p = &l->params[j];
        if (!p->trainable || !want[j])
            continue;
        size_t sp[2] = {(size_t) (p->value - net->params), (size_t) dn_shape_numel (&p->shape)};
        g_array_append_vals (spans, sp, 2);
    }
}

static int cmp_span (gconstpointer a, gconstpointer b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    return x < y ? -1 : x > y;
}

void _dn_pb_optimizer_step (DnPb *pb, DnNetwork *net, DnOptimizer *opt, double lr)
{
    gboolean all =
        !pb->in_phase && (pb->cfg->learn_dendrites_live || dn_network_dendrite_count (net) == 0);
    if (all) {
        dn_optimizer_step (opt, net->params, net->grads, lr);
        return;
    }
    g_autoptr (GArray) spans = g_array_new (FALSE, FALSE, sizeof (size_t));
    gboolean want[DN_LAYER_MAX_PARAMS];
    for (int i = 0; i < dn_network_n_nodes (net); i++) {
        DnLayer *l = dn_network_node (net, i)->layer;
        gboolean dendritic = dn_dendritic_count (l) >= 0;
        for (int j = 0; j < l->n_params; j++)
            want[j] = pb->in_phase ? FALSE : !dendritic || !dn_dendritic_is_dendrite_param (l, j);
        if (pb->in_phase && dendritic) {
            int idx[DN_LAYER_MAX_PARAMS];
            int n = dn_dendritic_candidate_params (l, idx);
            for (int k = 0; k < n; k++)
                want[idx[k]] = TRUE;
        }
        add_spans (spans, net, l, want);
    }
    /* one (offset, length) pair per element pair; sort the pairs, merge neighbours */
    int n = (int) spans->len / 2;
    qsort (spans->data, n, 2 * sizeof (size_t), cmp_span);
    size_t *s = (size_t *) spans->data;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && s[2 * (m - 1)] + s[2 * (m - 1) + 1] == s[2 * i]) {
            s[2 * (m - 1) + 1] += s[2 * i + 1];
            continue;
        }
        s[2 * m] = s[2 * i];
        s[2 * m + 1] = s[2 * i + 1];
        m++;
    }
    dn_optimizer_step_spans (opt, net->params, net->grads, lr, s, m);
}

void _dn_pb_epoch_end (DnPb *pb, DnNetwork *net)
{
    for (int i = 0; i < pb->n_layers; i++) {
        DnPbLayer *pl = &pb->layers[i];
        const int C = pl->channels;
        const double *s = pl->sums;
        double n = MAX (pl->n, 1);
        DnLayer *l = dn_network_node (net, pl->node)->layer;
        for (int c = 0; c < C; c++) {
            double mv = s[SUM_V * C + c] / n, me = s[SUM_E * C + c] / n;
            double cov = s[SUM_VE * C + c] / n - mv * me;
            double vv = s[SUM_VV * C + c] / n - mv * mv, ee = s[SUM_EE * C + c] / n - me * me;
            double r = pb->cfg->normalized_covariance
                           ? (vv > 1e-20 && ee > 1e-20 ? cov / sqrt (vv * ee) : 0.0)
                           : cov;
            pl->score[c] = isfinite (r) ? fabs (r) : 0.0;
            if (pl->score[c] > pl->best[c]) {
                pl->best[c] = pl->score[c];
                dn_dendritic_candidate_save_channel (l, pb->be, c, pl->snap);
            }
        }
        pl->n = 0;
    }
}

void _dn_pb_report (DnPb *pb, DnTracker *t)
{
    const char **names = g_new (const char *, MAX (pb->n_layers, 1));
    const double **scores = g_new (const double *, MAX (pb->n_layers, 1));
    int *counts = g_new (int, MAX (pb->n_layers, 1));
    for (int i = 0; i < pb->n_layers; i++) {
        names[i] = pb->layers[i].name;
        scores[i] = pb->layers[i].score;
        counts[i] = pb->layers[i].channels;
    }
    dn_tracker_set_candidate_scores (t, names, scores, counts, pb->n_layers);
    g_free (names);
    g_free (scores);
    g_free (counts);
}

/* ---- the phase in `latest` ---- */

static void add_bytes (GString *s, const char *key, const void *data, size_t len)
{
    g_autofree char *b64 = g_base64_encode (data, len);
    g_string_append_printf (s, ",\"%s\":\"%s\"", key, b64);
}

char *_dn_pb_state_to_string (const DnPb *pb)
{
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, "{\"in_phase\":%s,\"batches\":%" G_GINT64_FORMAT ",\"layers\":[",
                            pb->in_phase ? "true" : "false", pb->batches);
    for (int i = 0; i < pb->n_layers; i++) {
        const DnPbLayer *pl = &pb->layers[i];
        g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);
        json_node_set_string (node, pl->name);
        g_autofree char *name = dn_json_to_string (node, FALSE);
        g_string_append_printf (s, "%s{\"name\":%s", i ? "," : "", name);
        add_bytes (s, "mean_v", pl->mean_v, pl->channels * sizeof (double));
        add_bytes (s, "mean_e", pl->mean_e, pl->channels * sizeof (double));
        add_bytes (s, "best", pl->best, pl->channels * sizeof (double));
        add_bytes (s, "snapshot", pl->snap, pl->snap_size * sizeof (float));
        g_string_append_c (s, '}');
    }
    g_string_append (s, "]}");
    return g_string_free (s, FALSE);
}

static gboolean read_bytes (const DnStateReader *st, JsonObject *o, const char *key, void *out,
                            size_t len, const char *layer, GError **error)
{
    const char *text = json_object_get_string_member_with_default (o, key, NULL);
    gsize n = 0;
    g_autofree guchar *data = text != NULL ? g_base64_decode (text, &n) : NULL;
    if (data == NULL || n != len)
        return dn_run_state_fail (st, error, "layer '%s': \"%s\" must be base64 of %zu bytes",
                                  layer, key, len);
    memcpy (out, data, len);
    return TRUE;
}

gboolean _dn_pb_state_load (DnPb *pb, DnNetwork *net, int capacity, const char *file,
                            const char *text, GError **error)
{
    DnStateReader st = {0};
    gboolean ok = FALSE;
    gint64 batches = 0;
    if (!dn_run_state_init (&st, file, "dendrite_pb", text, error))
        return FALSE;
    JsonNode *phase = json_object_get_member (st.o, "in_phase");
    if (phase == NULL || json_node_get_value_type (phase) != G_TYPE_BOOLEAN) {
        dn_run_state_fail (&st, error, "\"in_phase\" must be true or false");
        goto out;
    }
    pb->in_phase = json_node_get_boolean (phase);
    if (!dn_run_state_int (&st, "batches", 0, G_MAXINT64, &batches, error))
        goto out;
    pb->batches = batches;
    if (!pb->in_phase) {
        ok = TRUE;
        goto out;
    }
    if (!layers_setup (pb, net, capacity, error))
        goto out;
    JsonArray *layers = dn_run_state_array (&st, "layers", pb->n_layers, pb->n_layers, error);
    if (layers == NULL)
        goto out;
    for (int i = 0; i < pb->n_layers; i++) {
        DnPbLayer *pl = &pb->layers[i];
        JsonNode *e = json_array_get_element (layers, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
        const char *name =
            o != NULL ? json_object_get_string_member_with_default (o, "name", "") : "";
        if (!g_str_equal (name, pl->name)) {
            dn_run_state_fail (&st, error, "\"layers\"[%d] must be layer '%s'", i, pl->name);
            goto out;
        }
        size_t C = (size_t) pl->channels;
        if (!read_bytes (&st, o, "mean_v", pl->mean_v, C * sizeof (double), name, error) ||
            !read_bytes (&st, o, "mean_e", pl->mean_e, C * sizeof (double), name, error) ||
            !read_bytes (&st, o, "best", pl->best, C * sizeof (double), name, error) ||
            !read_bytes (&st, o, "snapshot", pl->snap, pl->snap_size * sizeof (float), name, error))
            goto out;
    }
    ok = TRUE;
out:
    dn_run_state_clear (&st);
    if (ok)
        _dn_pb_apply (pb, net);
    return ok;
}
