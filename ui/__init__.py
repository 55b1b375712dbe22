"""The Streamlit dashboard: shared page helpers (:mod:`ui.common`), the page scripts in ``ui/pages/`` and the
dashboard's benchmark (:mod:`ui.bench_dashboard`, which drives the real Threshold page in AppTest).

The pages are not in a ``pages/`` folder next to ``app.py`` on purpose: such a
folder switches Streamlit into its legacy multipage mode until ``st.navigation``
runs once, which makes a fresh server's first request and every AppTest run
execute page scripts without the ``app.py`` frame (sidebar).
"""
