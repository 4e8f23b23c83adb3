package emit

func (s *site) helmfile() error { return nil }
func (s *site) argocd() error   { return nil }
func (s *site) flux() error     { return nil }
