/* test-chart.c: the one picture of a run (dn-chart.h), drawn from a scripted
 * tracker history into image surfaces: every kind in every style draws
 * something, the switch lines stand at their epochs, zoom and hover change
 * the picture, the empty states, the descriptions' numbers, and saving PNG,
 * SVG and PDF atomically, with errors that name the file. */
#include "dn-chart.h"
#include "dn-error.h"
#include "dn-test-util.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- a scripted run (the same as test-run-files.c) ---- */

static int64_t params_of (const DnTracker *t)
{
    return 1000 * (int64_t) (dn_tracker_dendrites (t) + 1);
}

/* set 1 added at row 2, set 2 at row 4 rejected and retried, set 3 at row 6 */
static const double script[] = {10, 20, 30, 30, 30, 30, 35, 40, 40, 40, 40,
                                38, 38, 38, 38, 45, 46, 46, 46, 46, 47, 48.5};

static DnTracker *scripted (void)
{
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    dn_tracker_list_set (&c.n_epochs_to_switch, 3);
    dn_tracker_list_set (&c.max_dendrite_tries, 2); /* two attempts: one retry */
    c.find_best_lr = FALSE;
    DnSchedConfig sched;
    dn_sched_config_defaults (&sched, DN_SCHED_STEP);
    sched.step_size = 1;
    sched.gamma = 0.5;
    g_autoptr (GError) error = NULL;
    DnTracker *t = dn_tracker_new (&c, &sched, 0.1, &error);
    g_assert_no_error (error);
    const char *names[] = {"Train"};
    g_assert_true (dn_tracker_set_extra_names (t, names, 1, &error));
    for (guint i = 0; i < G_N_ELEMENTS (script); i++) {
        double train = script[i] + 5;
        DnTrackerScores s = {.val = script[i],
                             .test = script[i] - 1,
                             .extra = &train,
                             .n_extra = 1,
                             .seconds = 2.0 + 0.25 * (i % 4),
                             .params = params_of (t)};
        DnTrackerAction a;
        g_assert_true (dn_tracker_add_score (t, &s, &a, &error));
    }
    return t;
}

static DnTracker *fresh (void)
{
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    return dn_tracker_new (&c, NULL, 0.1, NULL);
}

/* ---- pixels ---- */

typedef struct {
    cairo_surface_t *surface;
    int w, h, stride;
    const guint8 *data;
} Image;

static Image draw (const DnTracker *t, int kind, int w, int h, const DnChartStyle *style)
{
    Image im = {.w = w, .h = h};
    im.surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
    cairo_t *cr = cairo_create (im.surface);
    if (kind == DN_CHART_ALL)
        dn_chart_draw_all (cr, t, w, h, style);
    else
        dn_chart_draw (cr, t, (DnChartKind) kind, w, h, style);
    g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
    cairo_destroy (cr);
    cairo_surface_flush (im.surface);
    im.stride = cairo_image_surface_get_stride (im.surface);
    im.data = cairo_image_surface_get_data (im.surface);
    return im;
}

static void image_free (Image *im)
{
    cairo_surface_destroy (im->surface);
}

static guint32 pixel (const Image *im, int x, int y)
{
    return *(const guint32 *) (gconstpointer) (im->data + y * im->stride + 4 * x);
}

static void rgb (guint32 p, int *r, int *g, int *b)
{
    *r = (p >> 16) & 0xff;
    *g = (p >> 8) & 0xff;
    *b = p & 0xff;
}

/* Pixels in the rectangle that differ from `bg` (or, with transparent, that
 * are not fully transparent). */
static int count_ink (const Image *im, int x0, int y0, int x1, int y1, guint32 bg,
                      gboolean transparent)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            guint32 p = pixel (im, x, y);
            n += transparent ? (p >> 24) != 0 : (p & 0xffffff) != (bg & 0xffffff);
        }
    return n;
}

/* The switch-line blue of the light style, #1c71d8 at 90 % over white or grid. */
static gboolean is_switch_blue (guint32 p)
{
    int r, g, b;
    rgb (p, &r, &g, &b);
    return b > 170 && r < 120 && g > 90 && g < 170;
}

/* The axis grey of the light style, #5e5c64. */
static gboolean is_axis (guint32 p)
{
    int r, g, b;
    rgb (p, &r, &g, &b);
    return abs (r - 0x5e) < 12 && abs (g - 0x5c) < 12 && abs (b - 0x64) < 12;
}

/* The plot rectangle, found from the axes: the longest horizontal run of
 * axis grey is the x axis (its ends are the plot's left and right), the
 * longest vertical run the y axis (its ends the top and bottom). */
static void find_plot (const Image *im, int *left, int *right, int *top, int *bottom)
{
    int best = 0;
    for (int y = 0; y < im->h; y++)
        for (int x = 0, run = 0; x < im->w; x++) {
            run = is_axis (pixel (im, x, y)) ? run + 1 : 0;
            if (run > best) {
                best = run;
                *right = x;
                *left = x - run + 1;
            }
        }
    best = 0;
    for (int x = 0; x < im->w; x++)
        for (int y = 0, run = 0; y < im->h; y++) {
            run = is_axis (pixel (im, x, y)) ? run + 1 : 0;
            if (run > best) {
                best = run;
                *bottom = y;
                *top = y - run + 1;
            }
        }
}

/* The share of column x between top and bottom that is switch blue, best of x-1..x+1. */
static double blue_share (const Image *im, int x, int top, int bottom)
{
    double best = 0;
    for (int c = MAX (0, x - 1); c <= MIN (im->w - 1, x + 1); c++) {
        int n = 0;
        for (int y = top; y <= bottom; y++)
            n += is_switch_blue (pixel (im, c, y));
        best = MAX (best, n / (double) (bottom - top + 1));
    }
    return best;
}

/* ---- tests ---- */

static void test_style_defaults (void)
{
    DnChartStyle s;
    memset (&s, 0x55, sizeof s);
    dn_chart_style_init (&s);
    g_assert_false (s.dark);
    g_assert_cmpfloat (s.font_size, ==, 11);
    g_assert_cmpint (s.last_n_epochs, ==, 0);
    g_assert_false (s.transparent);
    g_assert_cmpint (s.hover_epoch, ==, -1);
    g_assert_cmpstr (dn_chart_kind_title (DN_CHART_SCORES), ==, "Scores");
    g_assert_cmpstr (dn_chart_kind_title (DN_CHART_TIMES), ==, "Epoch times");
    g_assert_cmpstr (dn_chart_kind_title (DN_CHART_LR), ==, "Learning rate");
    g_assert_cmpstr (dn_chart_kind_title (DN_CHART_CORRELATION), ==, "Dendrite correlation");
}

/* Every kind, light and dark, zoomed, hovered, transparent, small and large
 * type: something is drawn, and not a flood. */
static void test_every_kind_and_style (void)
{
    g_autoptr (DnTracker) t = scripted ();
    for (int variant = 0; variant < 6; variant++) {
        DnChartStyle st;
        dn_chart_style_init (&st);
        st.dark = variant == 1 || variant == 3;
        st.last_n_epochs = variant == 2 ? 4 : 0;
        st.hover_epoch = variant == 3 ? 5 : -1;
        st.transparent = variant == 4;
        st.font_size = variant == 5 ? 16 : variant == 2 ? 8 : 0;
        guint32 bg = st.dark ? 0x1e1e1e : 0xffffff;
        for (int kind = 0; kind < DN_CHART_N_KINDS; kind++) {
            Image im = draw (t, kind, 480, 320, &st);
            int ink = count_ink (&im, 0, 0, im.w, im.h, bg, st.transparent);
            g_test_message ("variant %d kind %d: %d pixels drawn", variant, kind, ink);
            g_assert_cmpint (ink, >, im.w * im.h / 100);
            g_assert_cmpint (ink, <, im.w * im.h * 6 / 10);
            if (!st.transparent) /* the background is painted */
                g_assert_cmphex (pixel (&im, 1, im.h - 2) & 0xffffff, ==, bg);
            else
                g_assert_cmphex (pixel (&im, 1, im.h - 2), ==, 0);
            image_free (&im);
        }
    }
}

/* One blue line per dendrite addition, where the epoch axis puts it. */
static void test_switch_lines (void)
{
    g_autoptr (DnTracker) t = scripted ();
    int ns;
    const DnTrackerSwitch *sw = dn_tracker_switches (t, &ns);
    g_assert_cmpint (ns, ==, 3);
    g_assert_cmpint (sw[0].epoch, ==, 2);
    g_assert_cmpint (sw[1].kind, ==, DN_TRACKER_SWITCH_RETRY);
    DnChartStyle st;
    dn_chart_style_init (&st);
    Image im = draw (t, DN_CHART_SCORES, 900, 420, &st);
    int left = 0, right = 0, top = 0, bottom = 0;
    find_plot (&im, &left, &right, &top, &bottom);
    g_test_message ("plot x %d..%d, y %d..%d", left, right, top, bottom);
    g_assert_cmpint (right - left, >, 300);
    g_assert_cmpint (bottom - top, >, 200);
    /* the x axis spans rows 0..9: the current rows end at 8, a rolled-back one at 9 */
    double last = 9;
    for (int i = 0; i < ns; i++) {
        int x = (int) round (left + sw[i].epoch / last * (right - left));
        double share = blue_share (&im, x, top, bottom);
        g_test_message ("switch at row %d: x %d, %.0f %% blue", sw[i].epoch, x, 100 * share);
        /* solid almost all the way, dashed (the retry) more than half */
        g_assert_cmpfloat (share, >, sw[i].kind == DN_TRACKER_SWITCH_RETRY ? 0.45 : 0.8);
    }
    /* and none between them */
    for (int e = 0; e <= 8; e++) {
        if (e == 2 || e == 4 || e == 6)
            continue;
        int x = (int) round (left + (e + 0.5) / last * (right - left));
        g_assert_cmpfloat (blue_share (&im, x, top, bottom), <, 0.1);
    }
    image_free (&im);

    /* zoomed on the last 3 epochs (rows 7..9) no switch line is left */
    st.last_n_epochs = 3;
    Image zoom = draw (t, DN_CHART_SCORES, 900, 420, &st);
    find_plot (&zoom, &left, &right, &top, &bottom);
    for (int x = left + 2; x < right; x++)
        g_assert_cmpfloat (blue_share (&zoom, x, top, bottom), <, 0.3);
    image_free (&zoom);
}

/* The hover cursor changes the picture at its epoch only when it is shown. */
static void test_hover (void)
{
    g_autoptr (DnTracker) t = scripted ();
    DnChartStyle st;
    dn_chart_style_init (&st);
    Image plain = draw (t, DN_CHART_TIMES, 640, 400, &st);
    st.hover_epoch = 5;
    Image hover = draw (t, DN_CHART_TIMES, 640, 400, &st);
    st.hover_epoch = 500; /* past the end: nothing */
    Image past = draw (t, DN_CHART_TIMES, 640, 400, &st);
    int diff = 0, diff_past = 0;
    for (int y = 0; y < plain.h; y++)
        for (int x = 0; x < plain.w; x++) {
            diff += pixel (&plain, x, y) != pixel (&hover, x, y);
            diff_past += pixel (&plain, x, y) != pixel (&past, x, y);
        }
    g_assert_cmpint (diff, >, 500); /* a line and a readout box */
    g_assert_cmpint (diff_past, ==, 0);
    image_free (&plain);
    image_free (&hover);
    image_free (&past);
}

/* A tracker without epochs: every kind says so instead of drawing nothing. */
static void test_empty (void)
{
    g_autoptr (DnTracker) t = fresh ();
    DnChartStyle st;
    dn_chart_style_init (&st);
    for (int kind = 0; kind < DN_CHART_N_KINDS; kind++) {
        Image im = draw (t, kind, 400, 260, &st);
        int ink = count_ink (&im, 0, 0, im.w, im.h, 0xffffff, FALSE);
        g_assert_cmpint (ink, >, 300); /* title, frame and message */
        /* the message sits in the middle */
        g_assert_cmpint (count_ink (&im, 100, 90, 300, 170, 0xffffff, FALSE), >, 100);
        image_free (&im);
    }
    g_autofree char *scores = dn_chart_describe (t, DN_CHART_SCORES);
    g_assert_cmpstr (scores, ==, "Scores: no epochs yet.");
    g_autofree char *corr = dn_chart_describe (t, DN_CHART_CORRELATION);
    g_assert_cmpstr (corr, ==, "Dendrite correlation: no dendrites yet.");
}

/* One line per dendritic layer once correlations arrive. */
static void test_correlation (void)
{
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    dn_tracker_list_set (&c.n_epochs_to_switch, 2);
    g_autoptr (DnTracker) t = dn_tracker_new (&c, NULL, 0.1, NULL);
    DnChartStyle st;
    dn_chart_style_init (&st);
    const double v[] = {1, 2, 3, 3, 3, 4, 5, 6, 7};
    const char *names[] = {"conv1", "conv2", "fc1"};
    for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
        if (dn_tracker_dendrites (t) > 0) {
            double corr[] = {0.01 * i, 0.05 / (i + 1), i % 2 ? 0.02 : NAN};
            dn_tracker_set_correlations (t, names, corr, 3);
        }
        if (i == 3) { /* before any value: the explanatory empty state */
            Image im = draw (t, DN_CHART_CORRELATION, 480, 320, &st);
            g_assert_cmpint (count_ink (&im, 0, 0, im.w, im.h, 0xffffff, FALSE), <, 8000);
            image_free (&im);
        }
        DnTrackerScores s = {.val = v[i], .test = NAN, .seconds = 1, .params = 10};
        DnTrackerAction a;
        g_assert_true (dn_tracker_add_score (t, &s, &a, NULL));
    }
    g_assert_cmpint (dn_tracker_n_correlations (t), ==, 3);
    Image im = draw (t, DN_CHART_CORRELATION, 480, 320, &st);
    /* saturated pixels of three hues: the layer lines */
    int warm = 0, green = 0, violet = 0;
    for (int y = 0; y < im.h; y++)
        for (int x = 0; x < im.w; x++) {
            int r, g, b;
            rgb (pixel (&im, x, y), &r, &g, &b);
            warm += r > 150 && g < 120 && b < 80;
            green += g > 150 && r < 100;
            violet += r > 120 && b > 150 && g < 80;
        }
    g_test_message ("warm %d, green %d, violet %d", warm, green, violet);
    g_assert_cmpint (warm, >, 50);
    g_assert_cmpint (green, >, 50);
    g_assert_cmpint (violet, >, 5);
    image_free (&im);
    g_autofree char *text = dn_chart_describe (t, DN_CHART_CORRELATION);
    g_assert_cmpstr (text, ==,
                     "Dendrite correlation, latest per layer: conv1 0.08 at epoch 7, conv2 "
                     "0.005556 at epoch 7, fc1 0.02 at epoch 6.");
}

static void test_draw_all (void)
{
    g_autoptr (DnTracker) t = scripted ();
    DnChartStyle st;
    dn_chart_style_init (&st);
    st.dark = TRUE;
    Image im = draw (t, DN_CHART_ALL, 1000, 600, &st);
    for (int q = 0; q < 4; q++) {
        int x0 = (q % 2) * 500, y0 = (q / 2) * 300;
        int ink = count_ink (&im, x0, y0, x0 + 500, y0 + 300, 0x1e1e1e, FALSE);
        g_assert_cmpint (ink, >, 1500);
    }
    image_free (&im);
}

static void test_describe (void)
{
    g_autoptr (DnTracker) t = scripted ();
    g_autofree char *scores = dn_chart_describe (t, DN_CHART_SCORES);
    g_assert_cmpstr (scores, ==,
                     "Scores over 9 epochs (13 more rolled back): validation 48.5 at epoch 9 "
                     "(best 48.5 at epoch 9), test 47.5, Train 53.5; 3 dendrite sets added at "
                     "epochs 3, 5 (retry), 7.");
    g_autofree char *times = dn_chart_describe (t, DN_CHART_TIMES);
    g_assert_cmpstr (times, ==,
                     "Epoch times over 9 epochs: last 2.25 s, mean 2.333 s, slowest 2.75 s at "
                     "epoch 5, total 21 s.");
    g_autofree char *lr = dn_chart_describe (t, DN_CHART_LR);
    g_assert_cmpstr (lr, ==,
                     "Learning rate over 9 epochs: now 0.05, started at 0.1, changed 7 times "
                     "(3 restarts after switches).");
    g_autofree char *corr = dn_chart_describe (t, DN_CHART_CORRELATION);
    g_assert_true (g_str_has_prefix (corr, "Dendrite correlation: "));
}

static char *read_all (const char *path, gsize *len)
{
    char *data = NULL;
    g_autoptr (GError) error = NULL;
    g_assert_true (g_file_get_contents (path, &data, len, &error));
    g_assert_no_error (error);
    return data;
}

static int count_entries (const char *dir)
{
    GDir *d = g_dir_open (dir, 0, NULL);
    int n = 0;
    while (g_dir_read_name (d) != NULL)
        n++;
    g_dir_close (d);
    return n;
}

static void test_save (void)
{
    g_autoptr (DnTracker) t = scripted ();
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (GError) error = NULL;

    g_autofree char *png = g_build_filename (dir, "scores.png", NULL);
    g_assert_true (dn_chart_save (t, DN_CHART_SCORES, png, 640, 400, &error));
    g_assert_no_error (error);
    gsize len;
    g_autofree char *data = read_all (png, &len);
    g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
    cairo_surface_t *back = cairo_image_surface_create_from_png (png);
    g_assert_cmpint (cairo_surface_status (back), ==, CAIRO_STATUS_SUCCESS);
    g_assert_cmpint (cairo_image_surface_get_width (back), ==, 640);
    g_assert_cmpint (cairo_image_surface_get_height (back), ==, 400);
    cairo_surface_destroy (back);

    g_autofree char *svg = g_build_filename (dir, "all.SVG", NULL);
    g_assert_true (dn_chart_save (t, DN_CHART_ALL, svg, 1200, 700, &error));
    g_autofree char *svg_data = read_all (svg, &len);
    g_assert_nonnull (strstr (svg_data, "<svg"));
    g_assert_nonnull (strstr (svg_data, "</svg>"));

    g_autofree char *pdf = g_build_filename (dir, "lr.pdf", NULL);
    g_assert_true (dn_chart_save (t, DN_CHART_LR, pdf, 500, 300, &error));
    g_autofree char *pdf_data = read_all (pdf, &len);
    g_assert_true (g_str_has_prefix (pdf_data, "%PDF-"));
    g_assert_nonnull (memmem (pdf_data, len, "%%EOF", 5));

    /* a second save replaces the file */
    g_assert_true (dn_chart_save (t, DN_CHART_TIMES, png, 320, 200, &error));
    back = cairo_image_surface_create_from_png (png);
    g_assert_cmpint (cairo_image_surface_get_width (back), ==, 320);
    cairo_surface_destroy (back);

    /* the three files and nothing else: no temporaries */
    g_assert_cmpint (count_entries (dir), ==, 3);
    dn_test_tmpdir_remove (dir);
}

static void test_save_errors (void)
{
    g_autoptr (DnTracker) t = scripted ();
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (GError) error = NULL;

    g_autofree char *jpg = g_build_filename (dir, "chart.jpg", NULL);
    g_assert_false (dn_chart_save (t, DN_CHART_SCORES, jpg, 640, 400, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, jpg));
    g_assert_nonnull (strstr (error->message, ".png, .svg or .pdf"));
    g_clear_error (&error);

    g_autofree char *bare = g_build_filename (dir, "chart", NULL);
    g_assert_false (dn_chart_save (t, DN_CHART_ALL, bare, 640, 400, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED);
    g_clear_error (&error);

    g_autofree char *big = g_build_filename (dir, "big.png", NULL);
    g_assert_false (dn_chart_save (t, DN_CHART_ALL, big, 100000, 400, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_clear_error (&error);

    g_autofree char *missing = g_build_filename (dir, "no-such-folder", "chart.pdf", NULL);
    g_assert_false (dn_chart_save (t, DN_CHART_ALL, missing, 640, 400, &error));
    g_assert_nonnull (error);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, missing));
    g_clear_error (&error);

    g_assert_cmpint (count_entries (dir), ==, 0);
    dn_test_tmpdir_remove (dir);
}

/* Descriptions use '.' whatever the locale. */
static void test_describe_locale (void)
{
    static const char *const candidates[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                             "fr_FR.utf8"};
    g_autoptr (DnTracker) t = scripted ();
    g_autofree char *in_c = dn_chart_describe (t, DN_CHART_SCORES);
    gboolean found = FALSE;
    for (guint i = 0; i < G_N_ELEMENTS (candidates) && !found; i++)
        found = setlocale (LC_ALL, candidates[i]) != NULL;
    if (!found) {
        g_test_skip ("no comma locale installed (de_DE, fr_FR)");
        return;
    }
    g_autofree char *there = dn_chart_describe (t, DN_CHART_SCORES);
    /* and drawing in it works (tick labels go through g_ascii_formatd) */
    Image im = draw (t, DN_CHART_ALL, 800, 500, NULL);
    image_free (&im);
    setlocale (LC_ALL, "C");
    g_assert_cmpstr (there, ==, in_c);
}

/* ---- runs drawn over the charts ---- */

/* A run without dendrites of 30 epochs, longer than the scripted one's 22. */
static DnTracker *long_run (double offset)
{
    DnTracker *t = dn_tracker_new_recorder ();
    g_autoptr (GError) error = NULL;
    for (int i = 0; i < 30; i++) {
        DnTrackerScores s = {.val = 20 + offset + i, .test = NAN, .seconds = 1.0 + offset / 10,
                             .params = 500, .lr = 0.01 * (1 + offset)};
        DnTrackerAction a;
        g_assert_true (dn_tracker_add_score (t, &s, &a, &error));
        g_assert_no_error (error);
    }
    return t;
}

/* Pixels within 40 of the colour in every component. */
static int count_colour (const Image *im, int x0, int y0, int x1, int y1, const double c[3])
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            int r, g, b;
            rgb (pixel (im, x, y), &r, &g, &b);
            n += abs (r - (int) (c[0] * 255)) < 40 && abs (g - (int) (c[1] * 255)) < 40 &&
                 abs (b - (int) (c[2] * 255)) < 40;
        }
    return n;
}

static void test_overlay (void)
{
    g_autoptr (DnTracker) t = scripted ();
    g_autoptr (DnTracker) a = long_run (0);
    g_autoptr (DnTracker) base = long_run (5);
    double c0[3], c1[3], d0[3];
    dn_chart_overlay_colour (0, FALSE, c0);
    dn_chart_overlay_colour (1, FALSE, c1);
    dn_chart_overlay_colour (0, TRUE, d0);
    g_assert_false (c0[0] == c1[0] && c0[1] == c1[1] && c0[2] == c1[2]);
    g_assert_false (c0[0] == d0[0] && c0[1] == d0[1] && c0[2] == d0[2]);

    DnChartStyle st;
    dn_chart_style_init (&st);
    DnChartPlotArea area;
    st.plot_area = &area;
    Image plain = draw (t, DN_CHART_SCORES, 900, 420, &st);
    g_assert_cmpfloat (area.last_row, <, 25);
    int none0 = count_colour (&plain, 0, 0, 900, 420, c0);
    int none1 = count_colour (&plain, 0, 0, 900, 420, c1);
    image_free (&plain);

    DnChartOverlay ov[2] = {{a, "wide-run", FALSE}, {base, "baseline-run", TRUE}};
    st.overlays = ov;
    st.n_overlays = 2;
    Image over = draw (t, DN_CHART_SCORES, 900, 420, &st);
    /* the x axis reaches the longer run's last epoch */
    g_assert_cmpfloat (area.last_row, >=, 29);
    int with0 = count_colour (&over, 0, 0, 900, 420, c0);
    int with1 = count_colour (&over, 0, 0, 900, 420, c1);
    g_test_message ("overlay 0: %d px (%d before); baseline: %d px (%d before)", with0, none0,
                    with1, none1);
    g_assert_cmpint (with0, >, none0 + 300);
    g_assert_cmpint (with1, >, none1 + 150);
    /* dashed: the baseline's line has gaps the solid one has not */
    g_assert_cmpint (with1, <, with0);
    image_free (&over);

    /* the four-chart picture exported with the overlay, against one without: scores,
     * times and learning rate each show the first run (the correlation chart of runs
     * without dendrites has nothing to draw) */
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (GError) error = NULL;
    int counts[2][3];
    for (int with = 0; with < 2; with++) {
        g_autofree char *png = g_build_filename (dir, with ? "compare.png" : "plain.png", NULL);
        g_assert_true (dn_chart_save_overlay (t, DN_CHART_ALL, with ? ov : NULL, with ? 2 : 0, png,
                                              1600, 900, &error));
        g_assert_no_error (error);
        cairo_surface_t *back = cairo_image_surface_create_from_png (png);
        g_assert_cmpint (cairo_surface_status (back), ==, CAIRO_STATUS_SUCCESS);
        g_assert_cmpint (cairo_image_surface_get_width (back), ==, 1600);
        Image file = {.surface = back, .w = 1600, .h = 900};
        file.stride = cairo_image_surface_get_stride (back);
        file.data = cairo_image_surface_get_data (back);
        counts[with][0] = count_colour (&file, 0, 0, 800, 450, c0);
        counts[with][1] = count_colour (&file, 800, 0, 1600, 450, c0);
        counts[with][2] = count_colour (&file, 0, 450, 800, 900, c0);
        image_free (&file);
    }
    for (int q = 0; q < 3; q++) {
        g_test_message ("chart %d: %d px of the first run's colour, %d without", q,
                        counts[1][q], counts[0][q]);
        g_assert_cmpint (counts[1][q], >, counts[0][q] + 150);
    }
    dn_test_tmpdir_remove (dir);
}

int main (int argc, char **argv)
{
    setlocale (LC_ALL, "C");
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/report/chart/style", test_style_defaults);
    g_test_add_func ("/report/chart/draw/kinds-and-styles", test_every_kind_and_style);
    g_test_add_func ("/report/chart/draw/switch-lines", test_switch_lines);
    g_test_add_func ("/report/chart/draw/hover", test_hover);
    g_test_add_func ("/report/chart/draw/empty", test_empty);
    g_test_add_func ("/report/chart/draw/all", test_draw_all);
    g_test_add_func ("/report/chart/draw/correlation", test_correlation);
    g_test_add_func ("/report/chart/describe", test_describe);
    g_test_add_func ("/report/chart/describe/locale", test_describe_locale);
    g_test_add_func ("/report/chart/save/formats", test_save);
    g_test_add_func ("/report/chart/save/errors", test_save_errors);
    g_test_add_func ("/report/chart/overlay", test_overlay);
    return g_test_run ();
}
