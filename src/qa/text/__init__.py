"""Text utilities every stage shares: the domain dictionary, jieba segmentation,
clause labels and citation marks, sentences, prompt escaping and keyword spans."""
