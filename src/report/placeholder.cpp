// Placeholder so greentrain_report builds before its first real source file; delete it then.
