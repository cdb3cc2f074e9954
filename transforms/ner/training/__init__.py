"""Building and measuring the committed tagger; tagging (`transforms.ner.Tagger`) never imports this package.

    python -m transforms.ner.training.train       # `make train-ner`: writes transforms/ner/model/
    python -m transforms.ner.training.evaluate    # the committed model's scores on an ANERcorp split

Training: `anercorp` (labeled data and its splits), `embed` (word2vec and clusters from the news
corpus), `network` (the window network's training loop), `crf` (crfsuite training and read-out),
`train` (the whole recipe). Evaluation: `scoring` (conlleval-style strict span scores), `evaluate`.
These modules may import the run-time modules of `transforms.ner`, never the other way round.
"""
