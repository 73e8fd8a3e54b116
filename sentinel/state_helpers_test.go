package sentinel

import "github.com/hactl/hactl/sentinel/state"

func stateForTest() state.State { return state.State{} }
