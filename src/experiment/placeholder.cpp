// Placeholder so greentrain_experiment builds before its first real source file; delete it then.
