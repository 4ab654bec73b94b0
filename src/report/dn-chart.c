/* dn-chart.c: the public entry points of the charts (dn-chart.h): the
 * history view, number formatting, drawing one chart or the 2x2 figure,
 * describing a chart in a sentence, and saving PNG, SVG or PDF atomically.
 */
#include "dn-chart-private.h"

#include "dn-error.h"
#include "dn-run-dir.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the history view ---- */

void dn_chart_data_init (DnChartData *d, const DnTracker *t, gboolean before_restore)
{
    memset (d, 0, sizeof *d);
    d->rows = dn_tracker_epochs (t, &d->n_rows);
    d->switches = dn_tracker_switches (t, &d->n_switches);
    int nr = dn_tracker_n_rollbacks (t);
    d->rollbacks = g_new0 (DnTrackerRollback, MAX (nr, 1));
    for (int i = 0; i < nr; i++)
        dn_tracker_get_rollback (t, i, &d->rollbacks[i]);
    d->n_rollbacks = nr;
    dn_tracker_get_markers (t, &d->markers);
    d->maximizing = dn_tracker_get_config (t)->maximizing_score;
    d->complete = dn_tracker_is_complete (t);
    d->total_epochs = dn_tracker_total_epochs (t);
    d->n_extra = MIN (dn_tracker_n_extra (t), DN_TRACKER_MAX_EXTRA);
    for (int i = 0; i < d->n_extra; i++)
        d->extra_names[i] = dn_tracker_extra_name (t, i);
    d->n_corr = CLAMP (dn_tracker_n_correlations (t), 0, DN_TRACKER_MAX_CORR);
    for (int i = 0; i < d->n_corr; i++) {
        const char *name = dn_tracker_correlation_name (t, i);
        d->corr_names[i] = name != NULL ? name : "layer";
    }
    d->n_cand = CLAMP (dn_tracker_n_candidate_layers (t), 0, DN_TRACKER_MAX_CORR);
    for (int i = 0; i < d->n_cand; i++) {
        const char *name = NULL;
        dn_tracker_candidate_layer_scores (t, i, &name, NULL, NULL);
        d->cand_names[i] = name != NULL ? name : "layer";
        d->cand_phase_labels[i] = g_strdup_printf ("phase: %s", d->cand_names[i]);
    }

    if (before_restore && nr > 0) {
        /* the current rows up to the last rollback's first row, then its rows */
        const DnTrackerRollback *last = &d->rollbacks[nr - 1];
        int keep = CLAMP (last->first_epoch, 0, d->n_rows);
        d->owned_rows =
            g_array_sized_new (FALSE, FALSE, sizeof (DnTrackerEpoch), keep + last->n_rows);
        g_array_append_vals (d->owned_rows, d->rows, keep);
        g_array_append_vals (d->owned_rows, last->rows, last->n_rows);
        d->rows = (const DnTrackerEpoch *) (gpointer) d->owned_rows->data;
        d->n_rows = (int) d->owned_rows->len;
        /* a switch rollback added the newest switch in the same decision */
        if (last->kind == DN_TRACKER_ROLLBACK_SWITCH && d->n_switches > 0)
            d->n_switches--;
        d->n_rollbacks--;
        int e = d->markers.epoch_last_improved;
        d->markers.last_improved_val = e >= 0 && e < d->n_rows ? d->rows[e].val : NAN;
    }
}

void dn_chart_data_clear (DnChartData *d)
{
    g_clear_pointer (&d->rollbacks, g_free);
    for (int i = 0; i < d->n_cand; i++)
        g_clear_pointer (&d->cand_phase_labels[i], g_free);
    if (d->owned_rows != NULL)
        g_array_unref (d->owned_rows);
    d->owned_rows = NULL;
}

int dn_chart_data_last_epoch (const DnChartData *d)
{
    int last = d->n_rows - 1;
    for (int i = 0; i < d->n_rollbacks; i++)
        if (d->rollbacks[i].n_rows > 0)
            last = MAX (last, d->rollbacks[i].rows[d->rollbacks[i].n_rows - 1].epoch);
    return last;
}

/* ---- numbers ---- */

const char *dn_chart_format_double (char *buf, gsize len, double v)
{
    const char *special = isnan (v)   ? "nan"
                          : isinf (v) ? (v > 0 ? "inf" : "-inf")
                          : v == 0    ? (signbit (v) ? "-0.0" : "0.0")
                                      : NULL;
    if (special != NULL) {
        g_strlcpy (buf, special, len);
        return buf;
    }
    /* the fewest significant digits that read back exactly */
    char fmt[16], e[40];
    int p = 1;
    for (; p < 17; p++) {
        g_snprintf (fmt, sizeof fmt, "%%.%de", p - 1);
        g_ascii_formatd (e, sizeof e, fmt, v);
        if (g_ascii_strtod (e, NULL) == v)
            break;
    }
    g_snprintf (fmt, sizeof fmt, "%%.%de", p - 1);
    g_ascii_formatd (e, sizeof e, fmt, v);
    int x = atoi (strchr (e, 'e') + 1);
    /* positional between 1e-4 and 1e16, as Python's repr */
    if (x >= -4 && x < 16) {
        g_snprintf (fmt, sizeof fmt, "%%.%df", MAX (p - 1 - x, 0));
        g_ascii_formatd (buf, len, fmt, v);
        if (strchr (buf, '.') == NULL)
            g_strlcat (buf, ".0", len);
    } else {
        g_strlcpy (buf, e, len); /* "1e-05", "6.02e+23" */
    }
    return buf;
}

const char *dn_chart_format_short (char *buf, gsize len, double v)
{
    if (isfinite (v) && fabs (v) >= 1e4 && fabs (v) < 1e15)
        g_ascii_formatd (buf, len, "%.0f", v);
    else
        g_ascii_formatd (buf, len, "%.4g", v);
    return buf;
}

/* ---- drawing ---- */

void dn_chart_style_init (DnChartStyle *style)
{
    g_return_if_fail (style != NULL);
    *style = (DnChartStyle){
        .dark = FALSE,
        .font_size = 11.0,
        .last_n_epochs = 0,
        .transparent = FALSE,
        .hover_epoch = -1,
    };
}

const char *dn_chart_kind_title (DnChartKind kind)
{
    switch (kind) {
    case DN_CHART_SCORES:
        return "Scores";
    case DN_CHART_TIMES:
        return "Epoch times";
    case DN_CHART_LR:
        return "Learning rate";
    case DN_CHART_CORRELATION:
        return "Dendrite correlation";
    case DN_CHART_N_KINDS:
        break;
    }
    return "Chart";
}

void dn_chart_draw_data (cairo_t *cr, const DnChartData *d, DnChartKind kind, double width,
                         double height, const DnChartStyle *style)
{
    DnChartStyle def;
    if (style == NULL) {
        dn_chart_style_init (&def);
        style = &def;
    }
    if (!(width > 0 && height > 0))
        return;
    DnChartPalette pal;
    dn_chart_palette (&pal, style->dark);
    DnChartSpec spec;
    dn_chart_spec_init (&spec);
    dn_chart_build_spec (d, kind, &pal, style->dark, &spec);
    g_autofree DnChartData *views = g_new0 (DnChartData, MAX (style->n_overlays, 1));
    for (int i = 0; i < style->n_overlays; i++) {
        dn_chart_data_init (&views[i], style->overlays[i].tracker, FALSE);
        spec.x_last = MAX (spec.x_last, dn_chart_data_last_epoch (&views[i]));
        dn_chart_spec_add_overlay (&spec, kind, &views[i], &style->overlays[i], i, style->dark);
    }
    dn_chart_plot (cr, d, &spec, width, height, style, &pal);
    dn_chart_spec_clear (&spec);
    for (int i = 0; i < style->n_overlays; i++)
        dn_chart_data_clear (&views[i]);
}

void dn_chart_draw_all_data (cairo_t *cr, const DnChartData *d, double width, double height,
                             const DnChartStyle *style)
{
    /* the reference's subplots 221..224: scores, times / learning rate, correlation */
    double w = width / 2, h = height / 2;
    for (int k = 0; k < DN_CHART_N_KINDS; k++) {
        cairo_save (cr);
        cairo_translate (cr, (k % 2) * w, (k / 2) * h);
        cairo_rectangle (cr, 0, 0, w, h);
        cairo_clip (cr);
        dn_chart_draw_data (cr, d, (DnChartKind) k, w, h, style);
        cairo_restore (cr);
    }
}

void dn_chart_draw (cairo_t *cr, const DnTracker *tracker, DnChartKind kind, double width,
                    double height, const DnChartStyle *style)
{
    g_return_if_fail (cr != NULL && tracker != NULL);
    g_return_if_fail (kind >= 0 && kind < DN_CHART_N_KINDS);
    DnChartData d;
    dn_chart_data_init (&d, tracker, FALSE);
    dn_chart_draw_data (cr, &d, kind, width, height, style);
    dn_chart_data_clear (&d);
}

void dn_chart_draw_all (cairo_t *cr, const DnTracker *tracker, double width, double height,
                        const DnChartStyle *style)
{
    g_return_if_fail (cr != NULL && tracker != NULL);
    DnChartData d;
    dn_chart_data_init (&d, tracker, FALSE);
    dn_chart_draw_all_data (cr, &d, width, height, style);
    dn_chart_data_clear (&d);
}

/* ---- descriptions ---- */

static const char *num (char *buf, double v)
{
    return dn_chart_format_short (buf, 32, v);
}

static void describe_switches (GString *s, const DnChartData *d)
{
    if (d->n_switches == 0) {
        g_string_append (s, "; no dendrites added yet");
        return;
    }
    g_string_append_printf (s, "; %d dendrite set%s added at epoch%s ", d->n_switches,
                            d->n_switches == 1 ? "" : "s", d->n_switches == 1 ? "" : "s");
    for (int i = 0; i < d->n_switches; i++)
        g_string_append_printf (s, "%s%d%s", i == 0 ? "" : ", ", d->switches[i].epoch + 1,
                                d->switches[i].kind == DN_TRACKER_SWITCH_RETRY ? " (retry)" : "");
}

static void describe_scores (GString *s, const DnChartData *d)
{
    const DnTrackerEpoch *last = &d->rows[d->n_rows - 1];
    char a[32], b[32];
    g_string_append_printf (s, "Scores over %d epoch%s", d->n_rows, d->n_rows == 1 ? "" : "s");
    if (d->total_epochs > d->n_rows)
        g_string_append_printf (s, " (%d more rolled back)", d->total_epochs - d->n_rows);
    g_string_append_printf (s, ": validation %s at epoch %d", num (a, last->val), d->n_rows);
    if (d->markers.has_global_best)
        g_string_append_printf (s, " (best %s at epoch %d)", num (b, d->markers.global_best),
                                d->markers.global_best_epoch + 1);
    for (int i = d->n_rows - 1; i >= 0; i--)
        if (isfinite (d->rows[i].test)) {
            g_string_append_printf (s, ", test %s", num (a, d->rows[i].test));
            break;
        }
    for (int x = 0; x < d->n_extra; x++)
        if (isfinite (last->extra[x]))
            g_string_append_printf (s, ", %s %s", d->extra_names[x], num (a, last->extra[x]));
    describe_switches (s, d);
}

static void describe_times (GString *s, const DnChartData *d)
{
    double sum = 0, slowest = -INFINITY;
    int n = 0, at = 0;
    for (int i = 0; i < d->n_rows; i++) {
        double v = d->rows[i].seconds;
        if (!isfinite (v))
            continue;
        sum += v;
        n++;
        if (v > slowest)
            slowest = v, at = i;
    }
    char a[32], b[32], c[32], e[32];
    g_string_append_printf (s, "Epoch times over %d epoch%s", d->n_rows, d->n_rows == 1 ? "" : "s");
    if (n == 0) {
        g_string_append (s, ": no times recorded");
        return;
    }
    g_string_append_printf (s, ": last %s s, mean %s s, slowest %s s at epoch %d, total %s s",
                            num (a, d->rows[d->n_rows - 1].seconds), num (b, sum / n),
                            num (c, slowest), at + 1, num (e, sum));
}

static void describe_lr (GString *s, const DnChartData *d)
{
    int changes = 0, rises = 0;
    for (int i = 1; i < d->n_rows; i++)
        if (d->rows[i].lr != d->rows[i - 1].lr) {
            changes++;
            rises += d->rows[i].lr > d->rows[i - 1].lr;
        }
    char a[32], b[32];
    g_string_append_printf (s, "Learning rate over %d epoch%s: ", d->n_rows,
                            d->n_rows == 1 ? "" : "s");
    if (changes == 0) {
        g_string_append_printf (s, "constant at %s", num (a, d->rows[0].lr));
        return;
    }
    g_string_append_printf (s, "now %s, started at %s, %s %d time%s",
                            num (a, d->rows[d->n_rows - 1].lr), num (b, d->rows[0].lr),
                            rises == 0 ? "lowered" : "changed", changes, changes == 1 ? "" : "s");
    if (rises > 0)
        g_string_append_printf (s, " (%d restart%s after switches)", rises, rises == 1 ? "" : "s");
}

/* Perforated Backpropagation: each layer's latest best-ever and phase scores. */
static void describe_pb_scores (GString *s, const DnChartData *d)
{
    char a[32], b[32];
    g_string_append (s, "Candidate correlation");
    int shown = 0;
    for (int c = 0; c < d->n_cand; c++) {
        int i = d->n_rows - 1;
        while (i >= 0 && !isfinite (d->rows[i].pb_best_ever[c]))
            i--;
        if (i < 0)
            continue;
        g_string_append_printf (s, "%s%s best %s", shown == 0 ? ": " : ", ", d->cand_names[c],
                                num (a, d->rows[i].pb_best_ever[c]));
        if (isfinite (d->rows[d->n_rows - 1].pb_phase_best[c]))
            g_string_append_printf (s, " (this phase %s)",
                                    num (b, d->rows[d->n_rows - 1].pb_phase_best[c]));
        shown++;
    }
    if (shown == 0)
        g_string_append (s, ": no dendrite phase yet");
}

static void describe_correlation (GString *s, const DnChartData *d)
{
    if (d->n_cand > 0) {
        describe_pb_scores (s, d);
        return;
    }
    /* each layer's latest value */
    int n = 0, at[DN_TRACKER_MAX_CORR], layer[DN_TRACKER_MAX_CORR];
    gboolean same_epoch = TRUE;
    int lo = -1, hi = -1;
    for (int c = 0; c < d->n_corr; c++)
        for (int i = d->n_rows - 1; i >= 0; i--)
            if (isfinite (d->rows[i].correlation[c])) {
                double v = d->rows[i].correlation[c];
                layer[n] = c;
                at[n] = i;
                same_epoch &= i == at[0];
                if (lo < 0 || v < d->rows[at[lo]].correlation[layer[lo]])
                    lo = n;
                if (hi < 0 || v > d->rows[at[hi]].correlation[layer[hi]])
                    hi = n;
                n++;
                break;
            }
    if (n == 0) {
        if (d->n_switches == 0 && (d->n_rows == 0 || d->rows[d->n_rows - 1].dendrites == 0))
            g_string_append (s, "Dendrite correlation: no dendrites yet");
        else
            g_string_append (s, "Dendrite correlation: no correlation scores (gradient-descent "
                                "dendrites learn with their neurons)");
        return;
    }
    char a[32], b[32];
    g_string_append (s, "Dendrite correlation");
    if (same_epoch)
        g_string_append_printf (s, " at epoch %d", at[0] + 1);
    if (n > 6) { /* a range, not a list nobody listens to the end of */
        g_string_append_printf (
            s, " for %d layers%s: from %s (%s) to %s (%s)", n, same_epoch ? "" : ", latest values",
            num (a, d->rows[at[lo]].correlation[layer[lo]]), d->corr_names[layer[lo]],
            num (b, d->rows[at[hi]].correlation[layer[hi]]), d->corr_names[layer[hi]]);
        return;
    }
    g_string_append (s, same_epoch ? ": " : ", latest per layer: ");
    for (int k = 0; k < n; k++) {
        g_string_append_printf (s, "%s%s %s", k > 0 ? ", " : "", d->corr_names[layer[k]],
                                num (a, d->rows[at[k]].correlation[layer[k]]));
        if (!same_epoch)
            g_string_append_printf (s, " at epoch %d", at[k] + 1);
    }
}

char *dn_chart_describe (const DnTracker *tracker, DnChartKind kind)
{
    g_return_val_if_fail (tracker != NULL, NULL);
    DnChartData d;
    dn_chart_data_init (&d, tracker, FALSE);
    GString *s = g_string_new (NULL);
    if (kind == DN_CHART_CORRELATION)
        describe_correlation (s, &d);
    else if (d.n_rows == 0)
        g_string_append_printf (s, "%s: no epochs yet", dn_chart_kind_title (kind));
    else if (kind == DN_CHART_SCORES)
        describe_scores (s, &d);
    else if (kind == DN_CHART_TIMES)
        describe_times (s, &d);
    else
        describe_lr (s, &d);
    g_string_append_c (s, '.');
    dn_chart_data_clear (&d);
    return g_string_free (s, FALSE);
}

/* ---- files ---- */

typedef enum { FORMAT_PNG, FORMAT_SVG, FORMAT_PDF } ImageFormat;

static cairo_status_t append_bytes (void *closure, const unsigned char *data, unsigned int len)
{
    g_byte_array_append (closure, data, len);
    return CAIRO_STATUS_SUCCESS;
}

typedef struct {
    const DnChartData *d;
    int kind_or_all;
    const DnChartStyle *style;
} SaveData;

static void draw_for_save (cairo_t *cr, double width, double height, gpointer data)
{
    SaveData *sd = data;
    if (sd->kind_or_all == DN_CHART_ALL)
        dn_chart_draw_all_data (cr, sd->d, width, height, sd->style);
    else
        dn_chart_draw_data (cr, sd->d, (DnChartKind) sd->kind_or_all, width, height, sd->style);
}

gboolean dn_chart_save_data (const DnChartData *d, int kind_or_all, const char *path, double width,
                             double height, const DnChartStyle *style, GError **error)
{
    g_return_val_if_fail (d != NULL && path != NULL, FALSE);
    g_return_val_if_fail (
        kind_or_all == DN_CHART_ALL || (kind_or_all >= 0 && kind_or_all < DN_CHART_N_KINDS), FALSE);
    SaveData sd = {d, kind_or_all, style};
    return dn_chart_save_drawing (path, width, height, draw_for_save, &sd, error);
}

gboolean dn_chart_save_drawing (const char *path, double width, double height, DnChartDrawFunc draw,
                                gpointer data, GError **error)
{
    g_return_val_if_fail (path != NULL && draw != NULL, FALSE);
    const char *base = strrchr (path, G_DIR_SEPARATOR);
    const char *ext = strrchr (base != NULL ? base : path, '.');
    ImageFormat format;
    if (ext != NULL && g_ascii_strcasecmp (ext, ".png") == 0)
        format = FORMAT_PNG;
    else if (ext != NULL && g_ascii_strcasecmp (ext, ".svg") == 0)
        format = FORMAT_SVG;
    else if (ext != NULL && g_ascii_strcasecmp (ext, ".pdf") == 0)
        format = FORMAT_PDF;
    else {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "cannot save chart %s: unknown image type \"%s\"; name the file .png, .svg "
                     "or .pdf",
                     path, ext != NULL ? ext : "");
        return FALSE;
    }
    if (!(width >= 1 && height >= 1 && width <= 32767 && height <= 32767)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "cannot save chart %s: size %gx%g is out of range (1 to 32767)", path, width,
                     height);
        return FALSE;
    }

    /* drawn into memory, then written with one atomic replace */
    GByteArray *bytes = g_byte_array_new ();
    cairo_surface_t *surface;
    if (format == FORMAT_PNG)
        surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) ceil (width),
                                              (int) ceil (height));
    else if (format == FORMAT_SVG)
        surface = cairo_svg_surface_create_for_stream (append_bytes, bytes, width, height);
    else
        surface = cairo_pdf_surface_create_for_stream (append_bytes, bytes, width, height);
    cairo_t *cr = cairo_create (surface);
    draw (cr, width, height, data);
    cairo_status_t status = cairo_status (cr);
    cairo_destroy (cr);
    if (status == CAIRO_STATUS_SUCCESS && format == FORMAT_PNG)
        status = cairo_surface_write_to_png_stream (surface, append_bytes, bytes);
    cairo_surface_finish (surface);
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status (surface);
    cairo_surface_destroy (surface);
    if (status != CAIRO_STATUS_SUCCESS) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "cannot save chart %s: cairo: %s", path,
                     cairo_status_to_string (status));
        g_byte_array_unref (bytes);
        return FALSE;
    }
    gboolean ok = dn_file_write_atomic (path, bytes->data, bytes->len, error);
    g_byte_array_unref (bytes);
    return ok;
}

gboolean dn_chart_save_overlay (const DnTracker *tracker, int kind_or_all,
                                const DnChartOverlay *overlays, int n_overlays, const char *path,
                                double width, double height, GError **error)
{
    g_return_val_if_fail (tracker != NULL && path != NULL, FALSE);
    g_return_val_if_fail (n_overlays == 0 || overlays != NULL, FALSE);
    DnChartData d;
    dn_chart_data_init (&d, tracker, FALSE);
    DnChartStyle style;
    dn_chart_style_init (&style);
    style.overlays = overlays;
    style.n_overlays = n_overlays;
    gboolean ok = dn_chart_save_data (&d, kind_or_all, path, width, height, &style, error);
    dn_chart_data_clear (&d);
    return ok;
}

gboolean dn_chart_save (const DnTracker *tracker, int kind_or_all, const char *path, double width,
                        double height, GError **error)
{
    g_return_val_if_fail (tracker != NULL && path != NULL, FALSE);
    DnChartData d;
    dn_chart_data_init (&d, tracker, FALSE);
    DnChartStyle style;
    dn_chart_style_init (&style);
    gboolean ok = dn_chart_save_data (&d, kind_or_all, path, width, height, &style, error);
    dn_chart_data_clear (&d);
    return ok;
}
