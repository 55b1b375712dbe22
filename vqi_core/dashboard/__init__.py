"""Tables, figures and overlays of the dashboard: numpy, pandas and plotly only, no Streamlit.

The pages call these functions and draw what they return, so everything the
dashboard shows can be tested and benchmarked without a browser. One module per
part of the dashboard:

- :mod:`~vqi_core.dashboard.style`: colours and plot layout. Good and defective
  take their colours from :mod:`vqi_core.localisation`, so they look the same in
  the overlays and in every plot;
- :mod:`~vqi_core.dashboard.threshold`: the Threshold page's histograms, ROC
  curve, confusion matrix, per-defect-type table and pixel-level view;
- :mod:`~vqi_core.dashboard.boxes`: boxes at any box level, their counts and
  figures;
- :mod:`~vqi_core.dashboard.overlays`: heatmap and box overlays, thumbnails, and
  which part of each image a run inspects;
- :mod:`~vqi_core.dashboard.image_lists`: the Inspect page's lists of test
  images;
- :mod:`~vqi_core.dashboard.scoring`: the Predict page's results and its check
  of a run on labelled images;
- :mod:`~vqi_core.dashboard.run_tables`: the runs table and the comparison of
  runs;
- :mod:`~vqi_core.dashboard.train_form`: the Train page's choices.
"""
