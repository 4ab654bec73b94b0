#!/usr/bin/python3
"""End-to-end test: drive Dendrite Studio the way a person does, through the
accessibility tree, and check what lands on disk.

Choose the MNIST CNN template and the bundled MNIST sample, turn dendrites on
with patience 1 and at most 2 dendrite sets, start, wait until the scores
chart shows a dendrite set and the status line reports it, let the run
complete, export the CSV set and the picture, and check the files. Then the
Active Dendrites template on two permuted tasks of one epoch: the task
accuracy chart and the status line follow the tasks, the run folder gets the
accuracy matrix. Then Start again into that run's folder: the window asks
Resume / Overwrite / New Numbered Run, and a new numbered run goes beside the
earlier one. Then one more run stopped after its first task and resumed to the
end, its log kept, and the MNIST run opened again from the Results page (the
unsaved continual experiment is discarded only after the window asks). A
screenshot of every page goes to $DN_SCREENSHOT_DIR.

Run by tests/gui/run-e2e.sh inside Xvfb + a D-Bus session + the AT-SPI bus.
"""
import csv
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from atspi_util import (Timeout, click, find, find_app, labels, nodes, press, screenshot,  # noqa
                        wait_label)

SHOTS = os.environ.get("DN_SCREENSHOT_DIR", ".")
EXPORT = os.environ["DN_EXPORT_DIR"]
RUNS = os.environ["DN_RUNS_DIR"]
EPOCHS = int(os.environ.get("DN_E2E_EPOCHS", "16"))
PAGES = ["network", "dendrites", "data", "training", "results"]


T0 = time.time()


def log(*a):
    # every line a TAP comment, also those of multi-line texts read off the window
    text = " ".join(str(x) for x in a).replace("\n", "\n#          ")
    print(f"# {time.time() - T0:7.1f}s", text, flush=True)


def show_page(app, name):
    nav = find(app, role="list", name="Pages")
    nav.querySelection().selectChild(PAGES.index(name))
    time.sleep(1.0)  # the crossfade


FRAME = []  # the app's window, once found: screenshots show only it


def shot(name):
    path = os.path.join(SHOTS, name + ".png")
    screenshot(path, FRAME[0] if FRAME else None)
    log("screenshot", path)


def read_back(read, ok, timeout=20):
    """Polls read() until ok(value) holds (a loaded machine applies a change late);
    returns the last value read, so the caller's message can say what it saw."""
    end = time.time() + timeout
    got = read()
    while not ok(got) and time.time() < end:
        time.sleep(0.2)
        got = read()
    return got


def set_value(app, name, value, visible=True, exclude=None):
    """The spin button whose name starts with `name` (and not with `exclude`)."""
    spin = find(app, role="spin button", visible=visible,
                match=lambda t: t.startswith(name) and not (exclude and t.startswith(exclude)))
    spin.queryValue().currentValue = float(value)
    got = read_back(lambda: spin.queryValue().currentValue, lambda v: abs(v - value) <= 1e-9)
    if abs(got - value) > 1e-9:
        raise AssertionError(f"{name}: set {value}, reads {got}")


def set_list(app, name, text):
    """A setting that takes one value or one per dendrite count: typed as text."""
    entry = find(app, role="text", prefix=name)
    entry.queryEditableText().setTextContents(text)

    def read():
        t = entry.queryText()
        return t.getText(0, t.characterCount)
    got = read_back(read, lambda v: v == text)
    if got != text:
        raise AssertionError(f"{name}: typed {text!r}, reads {got!r}")


def set_switch(app, name, on):
    sw = find(app, role="check box", prefix=name)
    checked = __import__("pyatspi").STATE_CHECKED
    if sw.getState().contains(checked) != on:
        click(sw)
    if read_back(lambda: sw.getState().contains(checked), lambda v: v == on) != on:
        raise AssertionError(f"{name}: switched {'on' if on else 'off'}, reads the opposite")


def chart_description(app, title):
    node = find(app, role="image", name=title)
    return node.description or ""


def main():
    app = find_app("dendrite-studio")
    log("app found")
    frame = find(app, role="frame")
    FRAME[:] = [frame]
    shot("empty")

    # 1. the MNIST CNN template
    press(app, prefix="Create from template MNIST CNN")
    wait_label(app, lambda t: t == "conv1", what="the layer conv1")
    wait_label(app, lambda t: "fc2" == t, what="the layer fc2")

    # 2. data: the bundled MNIST sample, previewed
    show_page(app, "data")
    wait_label(app, lambda t: "training images" in t, what="the data preview")
    shot("data")

    # 3. dendrites on: patience 1, at most 2 sets, one attempt (no retry), no LR sweep
    show_page(app, "dendrites")
    set_switch(app, "Grow Dendrites", True)
    set_list(app, "Patience", "1")
    set_list(app, "Most Dendrite Sets", "2")
    set_list(app, "Attempts per Set", "1")
    set_switch(app, "Advanced Settings", True)  # the sweep is a specialist's setting
    set_switch(app, "Sweep the Starting Rate", False)
    shot("dendrites")

    show_page(app, "network")
    wait_label(app, lambda t: "layers get dendrites" in t, what="the dendrite count")
    shot("network")

    # 4. train
    show_page(app, "training")
    # inside the folded "Run Settings" row; the Data page has "Epochs per Task"
    set_value(app, "Epochs", EPOCHS, visible=False, exclude="Epochs per Task")
    # the nodes to watch, found once: walking the whole tree costs seconds
    chart = find(app, role="image", name="Scores")
    title = find(app, role="label", name="Not started")
    press(app, name="Start")
    log("started")
    status = find(app, role="label", timeout=60,
                  match=lambda t: t.startswith(("Loading the data", "Neuron phase")))

    # 5. a switch: the chart says a dendrite set was added, the status line says it too
    end = time.time() + 1800
    last = ""
    while True:
        desc = chart.description or ""
        if title.name != last:
            last = title.name
            log(last, "|", status.name)
        if "dendrite set" in desc and "added" in desc:
            break
        if title.name.startswith("Finished") or title.name.startswith("Failed"):
            raise AssertionError("the run ended without a switch: " + desc)
        if time.time() > end:
            raise Timeout("no switch within 30 minutes: " + desc)
        time.sleep(1)
    log("scores chart:", desc)
    end = time.time() + 120
    while not ("1 dendrite set" in status.name or "2 dendrite sets" in status.name):
        if time.time() > end:
            raise Timeout("the status line does not report the dendrite set: " + status.name)
        time.sleep(0.5)
    log("status line:", status.name)
    shot("training-switch")

    # 6. let it complete
    end = time.time() + 3600
    while not title.name.startswith("Finished after"):
        if title.name.startswith("Failed") or title.name.startswith("Stopped"):
            raise AssertionError("the run ended badly: " + title.name)
        if time.time() > end:
            raise Timeout("the run did not finish within an hour")
        if title.name != last:
            last = title.name
            log(last, "|", status.name)
        time.sleep(1)
    log("finished:", title.name, "|", status.name)
    time.sleep(1)
    shot("training")
    decisions = [t for t in labels(app) if re.match(r"Epoch \d+ · ", t) and "dendrite set" in t]
    assert decisions, "the decisions log is empty"
    log("decisions:", decisions[0][:200])

    # 7. export the CSV set and the picture through the Results page's menu
    show_page(app, "results")
    wait_label(app, lambda t: "dendrite set" in t and "parameters" in t, what="the architectures")
    shot("results")
    for item in ("CSV Set (Perforated AI Files)", "All Four Charts as PNG"):
        menu = find(app, role="push button", name="Export")
        click(menu)
        entry = find(app, name=item, timeout=10)
        click(entry)
        log("exported", item)
        time.sleep(1.5)

    # 8. the files
    out = os.path.join(EXPORT, "mnist-cnn")
    expected = ["mnist-cnnScores.csv", "mnist-cnnTimes.csv", "mnist-cnnlearningRate.csv",
                "mnist-cnnswitchEpochs.csv", "mnist-cnnparamCounts.csv",
                "mnist-cnnbest_test_scores.csv", "mnist-cnn.png"]
    for name in expected:
        path = os.path.join(out, name)
        assert os.path.getsize(path) > 0, path
    with open(os.path.join(out, "mnist-cnnbest_test_scores.csv")) as f:
        rows = list(csv.reader(f))
    assert len(rows) >= 3, rows  # a header and at least two architectures
    with open(os.path.join(out, "mnist-cnn.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    run_dir = os.path.join(RUNS, "mnist-cnn")
    for name in ("best_model.safetensors", "final_clean_pai.safetensors", "latest.safetensors",
                 "experiment.json", "run.log", "mnist-cnn.png"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    log("files checked in", out, "and", run_dir)
    return app


def continual(app):
    """The Active Dendrites template on two permuted tasks of one epoch each."""
    show_page(app, "network")
    click(find(app, role="push button", name="Template"))
    click(find(app, role="menu item", name="Active Dendrites (continual learning)", timeout=10))
    # the MNIST experiment was edited and never saved: the window asks before dropping it
    find(app, name="Discard Unsaved Changes?", timeout=20)
    click(find(app, role="push button", timeout=10,
               match=lambda t: t.replace("_", "").startswith("Discard Changes")))
    log("discarded the unsaved MNIST experiment")
    wait_label(app, lambda t: t == "kwta2", what="the layer kwta2")
    show_page(app, "data")
    set_value(app, "Tasks", 2, visible=False)
    set_value(app, "Epochs per Task", 1, visible=False)
    shot("data-continual")
    show_page(app, "training")
    chart = find(app, role="image", name="Task accuracy")
    title = find(app, role="label", name="Not started")
    press(app, name="Start")
    log("started the continual run")
    status = find(app, role="label", timeout=120, match=lambda t: t.startswith("Task 1 of 2"))
    end = time.time() + 900
    seen_first = False
    last = ""
    while not title.name.startswith(("Finished", "Failed", "Stopped")):
        desc = chart.description or ""
        if "Accuracy after 1 of 2 tasks" in desc and not seen_first:
            seen_first = True
            log("after the first task:", desc, "|", status.name)
        if title.name != last:
            last = title.name
            log(last, "|", status.name)
        if time.time() > end:
            raise Timeout("the continual run did not finish within 15 minutes")
        time.sleep(0.5)
    assert title.name == "Finished all 2 tasks", title.name
    assert seen_first, "the chart never showed the first task alone"
    desc = chart.description or ""
    assert "Accuracy after 2 of 2 tasks" in desc, desc
    # two labels said "Task 1 of 2" during the run (`status` is either): the status line,
    # now the average in full, and the header's subtitle, now how the run ended
    status = find(app, role="label", prefix="Average accuracy over all 2 tasks", timeout=10)
    find(app, role="label", timeout=10,
         match=lambda t: t.startswith("Finished · ") and "average over 2 tasks" in t)
    find(app, role="image", name="Hidden activity per task", timeout=10)
    log("finished:", status.name, "|", desc)
    time.sleep(1)
    shot("training-continual")
    # named for its task count, the experiment followed the count: prototype_2
    run_dir = os.path.join(RUNS, "prototype_2")
    for name in ("accuracy_matrix.csv", "summary.json", "final_model.safetensors",
                 "hidden_activity.png"):
        assert os.path.getsize(os.path.join(run_dir, name)) > 0, name
    with open(os.path.join(run_dir, "accuracy_matrix.csv")) as f:
        rows = list(csv.reader(f))
    assert len(rows) == 3 and rows[0][0] == "after_task", rows
    log("files checked in", run_dir)
    return app


def run_folder_exists(app):
    """Start again into the folder the continual run wrote: the window asks Resume,
    Overwrite or New Numbered Run; a new numbered run goes beside the earlier one."""
    show_page(app, "training")
    earlier = os.path.join(RUNS, "prototype_2")
    before = sorted(os.listdir(earlier))
    press(app, name="Start")
    find(app, name="The Run Folder Exists", timeout=20)
    shot("run-folder-exists")
    # a dialog button's name is its mnemonic label and its text: "_Resume Resume"
    def response(name):
        return find(app, role="push button", timeout=10,
                    match=lambda t: t.replace("_", "").startswith(name))
    for name in ("Resume", "Overwrite", "Cancel"):
        response(name)
    click(response("New Numbered Run"))
    log("chose a new numbered run")
    second = earlier + "-2"
    end = time.time() + 120
    while not os.path.exists(os.path.join(second, "experiment.json")):
        if time.time() > end:
            raise Timeout("no run folder " + second)
        time.sleep(0.5)
    press(app, name="Stop")
    # the earlier run's title says "Finished": wait for this run's end
    title = find(app, role="label", timeout=120,
                 match=lambda t: t.startswith(("Stopped", "Failed")))
    log("second run:", title.name)
    assert title.name.startswith("Stopped"), title.name
    assert sorted(os.listdir(earlier)) == before, "the earlier run's folder changed"
    log("the earlier run kept", earlier, "; the new one went to", second)
    return app


def stop_resume_open(app):
    """Stop a run after its first task, Resume it to the end with its log kept, then
    open another run from the Results page: the window describes that one."""
    show_page(app, "training")
    press(app, name="Start")
    find(app, name="The Run Folder Exists", timeout=20)
    click(find(app, role="push button", timeout=10,
               match=lambda t: t.replace("_", "").startswith("New Numbered Run")))
    title = find(app, role="label", timeout=120, match=lambda t: t.startswith("Task 1 · "))
    end = time.time() + 900
    while not any("Task 1 of 2 done" in t for t in labels(app)):
        if time.time() > end:
            raise Timeout("the first task did not finish within 15 minutes")
        time.sleep(0.5)
    press(app, name="Stop")
    end = time.time() + 300
    while not title.name.startswith(("Stopped", "Finished", "Failed")):
        if time.time() > end:
            raise Timeout("the run did not stop: " + title.name)
        time.sleep(0.5)
    log("stopped:", title.name)
    if title.name.startswith("Finished"):
        raise AssertionError("the second task ended before Stop took effect: " + title.name)
    assert title.name == "Stopped after 1 task of 2", title.name
    shot("stopped")
    press(app, name="Resume")
    end = time.time() + 900
    while not title.name.startswith(("Finished", "Failed")):
        if time.time() > end:
            raise Timeout("the resumed run did not finish within 15 minutes: " + title.name)
        time.sleep(0.5)
    assert title.name == "Finished all 2 tasks", title.name
    log_text = "\n".join(labels(app))
    for said in ("Task 1 of 2 done", "Stopped", "Task 2 of 2 done"):
        assert said in log_text, "the log lost " + said
    log("resumed to the end, the log kept the first task and the stop")
    shot("resumed")

    # another run: the MNIST run of the first test, opened from the Results page
    show_page(app, "results")
    press(app, name="Open run mnist-cnn", timeout=60)
    # the continual experiment was edited and not saved: the window asks first
    find(app, name="Discard Unsaved Changes?", timeout=20)
    click(find(app, role="push button", timeout=10,
               match=lambda t: t.replace("_", "").startswith("Discard Changes")))
    find(app, role="label", timeout=60, match=lambda t: t.startswith("Finished after"))
    wait_label(app, lambda t: re.match(r"Epoch \d+ · ", t) is not None and "dendrite set" in t,
               what="the MNIST run's decisions, read back from its folder")
    wait_label(app, lambda t: t.startswith("Finished · best"), what="the finished run's subtitle")
    log("opened the MNIST run: its decisions and summary are shown")
    shot("opened-run")
    return app


TESTS = [("/gui/e2e/mnist-cnn-dendrites", main), ("/gui/e2e/continual", continual),
         ("/gui/e2e/run-folder-exists", run_folder_exists),
         ("/gui/e2e/stop-resume-open", stop_resume_open)]

if __name__ == "__main__":
    app, failed = None, 0
    for i, (name, test) in enumerate(TESTS, 1):
        try:
            if i > 1 and app is None:
                print(f"ok {i} - {name} # SKIP the window did not come up")
                continue
            app = test(app) if i > 1 else test()
            print(f"ok {i} - {name}")
        except Exception as e:  # a failure is a TAP line, and the screen is kept
            failed += 1
            try:
                shot(f"failure-{i}")
            except Exception:
                pass
            print(f"not ok {i} - {name} # {type(e).__name__}: {e}")
            if i == 1:
                app = None
    print(f"1..{len(TESTS)}")
    sys.exit(1 if failed else 0)
