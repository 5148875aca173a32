// Placeholder so greentrain_carbon builds before its first real source file; delete it then.
