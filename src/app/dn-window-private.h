/* dn-window-private.h: the window's insides, shared by dn-window.c (the
 * window: its widgets, sidebar, title, sensitivity and closing) and
 * dn-window-actions.c (its actions: open, save, new, train, export, open a
 * run). Functions used across the two files start with an underscore.
 */
#pragma once

#include "dn-window.h"

#include "dn-busy-indicator.h"
#include "dn-data-page.h"
#include "dn-dendrites-page.h"
#include "dn-network-page.h"
#include "dn-results-page.h"
#include "dn-training-page.h"

G_BEGIN_DECLS

#define DN_WINDOW_N_PAGES 5 /* Network, Dendrites, Data, Training, Results */

struct _DnWindow {
    AdwApplicationWindow parent_instance;

    AdwToastOverlay *toast_overlay;
    AdwWindowTitle *window_title;
    GtkButton *start_button;
    GtkButton *stop_button;
    GtkButton *resume_button;
    DnBusyIndicator *spinner;
    GtkStack *main_stack;
    GtkListBox *template_list;
    AdwLeaflet *leaflet;
    GtkWidget *sidebar;
    GtkToggleButton *sidebar_button;
    guint sidebar_idle;
    GtkListBox *nav_list;
    GtkStack *page_stack;
    DnNetworkPage *network_page;
    DnDendritesPage *dendrites_page;
    DnDataPage *data_page;
    DnTrainingPage *training_page;
    DnResultsPage *results_page;

    GtkLabel *nav_subtitles[DN_WINDOW_N_PAGES];
    DnDocument *document;
    DnTrainer *trainer;
    char *resume_dir; /* a stopped run of this experiment that can go on */
    GtkFileChooserNative *chooser;
};

/* dn-window.c */
void _dn_window_show_error (DnWindow *self, const char *heading, const char *body);
/* Enables the actions and shows the buttons the document and the run allow. */
void _dn_window_update_actions (DnWindow *self);
/* Rewrites the title, the sidebar's lines and the actions for what is shown. */
void _dn_window_refresh (DnWindow *self);
/* Selects page i (0-based, in the sidebar's order); others are ignored. */
void _dn_window_show_page_at (DnWindow *self, int i);

/* dn-window-actions.c: installs the "win." actions (class_init). */
void _dn_window_class_actions_init (GtkWidgetClass *widget_class);

G_END_DECLS
