"""Models: the supervised detector (XGBoost); the autoencoder and the ensemble follow."""
