"""The models of expression from accessibility: everything of the pipeline that imports torch lives here.

  predictors        every model behind one interface (fit, predict), the registry, the mean and ridge baselines
  mlp               the original study's network and its full-batch training
  tss_window        the TSS-window network (bins around each TSS, weights shared by all genes)
  gene_activity     ArchR's and Signac's gene activity scores and their per-gene linear fit (numpy)
  training          what the networks' training loops share (losses, early stopping)
  runtime           seeds, device, threads, versions
  cross_validation  folds and every model fitted on the same folds
  model_file        the model file of a trained network: save, load, validate, describe

Words: a *predictor* is anything with fit/predict (what --model and --eval_models name); a *network* is a
torch module inside a predictor; a *model file* is a saved predictor.
"""
