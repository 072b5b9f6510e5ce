"""Voila dashboards: app state (traitlets, no widgets) kept apart from the view (widgets only).

Start them with ``salesml serve`` (Voila on ``notebooks/apps``, localhost only,
sources stripped, tracebacks hidden, idle kernels culled, one pre-heated kernel per
app, optional ``--token``); every ``notebooks/apps/<name>.ipynb`` is served at
``http://localhost:8866/voila/render/<name>.ipynb``. The apps open the dataset given
by ``salesml serve --data PATH`` (default ``datasets/demo``).

Recipe: adding an app
---------------------
Adding an app means adding files; nothing central is edited.

1. ``salesml/apps/<name>/__init__.py`` (empty) and ``salesml/apps/<name>/state.py``::

       from traitlets import Float, Instance, observe
       from salesml.apps.base import AppState, load_app_data

       class CacWhatIfState(AppState):          # busy, error, last_seconds, lang inherited
           media_budget = Float(1.0)            # controls are traits
           result = Instance(SomeResult, allow_none=True)   # one result trait per recompute

           def __init__(self, data, *, lang="en", **kw):
               super().__init__(lang=lang, **kw)
               self.data = data                 # plain attribute, not a trait
               self.recompute()

           TABLES = ("costs", "leads", "deals", "customers")   # loads only these

           @classmethod
           def from_dataset(cls, dataset=None, *, lang="en"):
               return cls(load_app_data(dataset, cls.TABLES), lang=lang)

           @observe("media_budget")
           def _on_change(self, change):
               self.recompute()

           def recompute(self):
               with self.computing():           # busy on; an exception becomes `error`
                   self.result = some_analysis(self.data, budget=self.media_budget)

   No ipywidgets, IPython or plotly *widget* imports here: the state is tested
   without a browser (``tests/apps/``). Keep the last good ``result`` when a
   recomputation fails (``computing`` does that: it only sets ``error``).

2. ``salesml/apps/<name>/view.py``: a ``ipywidgets.VBox`` subclass taking the state.
   Use the helpers of :mod:`salesml.apps.widgets`: ``linked_dropdown`` (two-way
   linked control; give ``description_key``/``all_key`` catalogue keys so it follows
   the language), ``language_toggle`` (EN / 中文, linked to ``state.lang``; redraw
   your texts when ``lang`` changes), ``busy_indicator``, ``error_box``, ``FigureSlot`` (plotly chart
   that redraws in place; build figures with ``salesml.plotting``), and
   :func:`salesml.reports.tables.frame_html` for tables. Observe ``result`` and
   redraw; compute nothing. Give the widgets CSS classes (``add_class("salesml-...")``)
   so the browser test can find them. Strings go through
   the label catalog ``salesml/labels/<domain>.yaml`` (``<name>.<what>`` keys, en and zh).

3. ``notebooks/apps/<name>.ipynb``, committed without outputs, three cells:
   imports; a ``parameters`` cell (``dataset = None``, ``lang = "en"``);
   ``launch(<Name>View, <Name>State.from_dataset, dataset=dataset, lang=lang)``
   (:func:`salesml.apps.widgets.launch` shows an error box if loading fails).

4. Tests: state tests in ``tests/apps/test_<name>_state.py``; one browser test
   modelled on ``tests/apps/test_funnel_explorer_browser.py`` (``salesml serve`` on a
   free port, Playwright + ``/usr/bin/chromium``, change a control, check the page
   changed, screenshot to ``tests/artifacts/``). ``tests/notebooks/`` executes the
   notebook automatically.
"""
