// The service's business components, in mount and migration order. Adding one: its folder
// (service/src/<name>/component.ts, see items/) and one line here.
import { items } from './items/component.ts';
import type { Component } from './platform/component.ts';

export const COMPONENTS: readonly Component[] = [items];
