"""The recipe tuner: convert the profile's model with several recipes, measure each, pick the fastest that keeps quality."""
