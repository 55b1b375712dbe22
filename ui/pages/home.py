"""Home: what VQI does, what to do first, and the saved runs."""

from __future__ import annotations

import streamlit as st

from ui.common import CURRENT_RUN, PAGES, RUN_TABLE_COLUMNS, data_choice, runs_dir, store
from vqi_core.dashboard import runs_table

st.title("VQI · visual quality inspection")
st.markdown(
    "VQI learns what a good part looks like from images of defect-free parts only, then scores new images, "
    "shows where the defect is and lets you choose the score at which a part is rejected, with the cost of false "
    "alarms and escapes in plain view. **First** pick a dataset folder and category in the sidebar (the bundled "
    "demo works as is), **then** train a run on the Train page (\"Check the test set\" there first tells you "
    "whether its figures can be trusted). The Threshold page writes a validation report for the quality record.")

root, category = data_choice()
st.caption(f"Dataset: `{root}` · category: `{category or 'none'}` · runs folder: `{runs_dir()}`")

columns = st.columns(3)
with columns[0]:
    st.page_link(PAGES["train"], label="Train a run", icon=":material/model_training:")
    st.page_link(PAGES["predict"], label="Score new images", icon=":material/upload_file:")
with columns[1]:
    st.page_link(PAGES["inspect"], label="Inspect the current run", icon=":material/image_search:")
    st.page_link(PAGES["threshold"], label="Choose the threshold", icon=":material/tune:")
with columns[2]:
    st.page_link(PAGES["compare"], label="Compare runs", icon=":material/compare:")

st.subheader("Saved runs")
table = runs_table(store().list())
if table.empty:
    st.info("No saved run yet: train one on the Train page.", icon=":material/info:")
else:
    current = st.session_state.get(CURRENT_RUN)
    st.caption(f"{len(table)} run(s); the current run is `{current or 'none'}`.")
    st.dataframe(table, hide_index=True, column_config=RUN_TABLE_COLUMNS)
