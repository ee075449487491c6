package webhook

import (
	"context"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/quay-tools/config-editor/internal/operator"
)

// indexBundleSecret indexes QuayRegistries by "namespace/configBundleSecret".
const indexBundleSecret = "configBundleSecret"

// Cache is the webhook's view of the cluster's QuayRegistries: a client-go
// dynamic informer (one list, then a watch), indexed by
// spec.configBundleSecret, so a review asks the API server nothing. It
// implements [Registries].
type Cache struct {
	informer cache.SharedIndexInformer
	indexer  cache.Indexer
}

// NewCache builds the informer for QuayRegistries of namespace (all
// namespaces when empty). Start it with Run.
//
// It is the informer dynamicinformer.NewFilteredDynamicInformer builds,
// written out: that package imports k8s.io/client-go/informers, which
// links the typed clientset and every API group into the binary.
func NewCache(dyn dynamic.Interface, namespace string) *Cache {
	rc := dyn.Resource(operator.Resource).Namespace(namespace)
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return rc.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return rc.Watch(ctx, o)
		},
	}, dyn)
	inf := cache.NewSharedIndexInformerWithOptions(lw, &unstructured.Unstructured{}, cache.SharedIndexInformerOptions{
		Indexers: cache.Indexers{
			cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
			indexBundleSecret: func(obj any) ([]string, error) {
				u, ok := obj.(*unstructured.Unstructured)
				if !ok {
					return nil, nil
				}
				name, _, _ := unstructured.NestedString(u.Object, "spec", "configBundleSecret")
				if name == "" {
					return nil, nil
				}
				return []string{u.GetNamespace() + "/" + name}, nil
			},
		},
		ObjectDescription: operator.Resource.String(),
	})
	return &Cache{informer: inf, indexer: inf.GetIndexer()}
}

// Run runs the informer until ctx ends.
func (c *Cache) Run(ctx context.Context) { c.informer.RunWithContext(ctx) }

// Synced reports whether the first list has been stored.
func (c *Cache) Synced() bool { return c.informer.HasSynced() }

// WaitSynced waits until the first list is stored or ctx ends.
func (c *Cache) WaitSynced(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced)
}

// Get implements Registries.
func (c *Cache) Get(namespace, name string) *operator.QuayRegistry {
	obj, ok, err := c.indexer.GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil
	}
	return decode(obj)
}

// Referencing implements Registries.
func (c *Cache) Referencing(namespace, secret string) []*operator.QuayRegistry {
	objs, err := c.indexer.ByIndex(indexBundleSecret, namespace+"/"+secret)
	if err != nil {
		return nil
	}
	out := make([]*operator.QuayRegistry, 0, len(objs))
	for _, o := range objs {
		if qr := decode(o); qr != nil {
			out = append(out, qr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func decode(obj any) *operator.QuayRegistry {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	qr, err := operator.FromUnstructured(u)
	if err != nil {
		return nil
	}
	return qr
}

// Clients are what the webhook uses to talk to the API server.
type Clients struct {
	Dynamic dynamic.Interface
	Where   string // "context X (https://…)" or "in-cluster (https://…)"
}

// Connect builds the clients from a kubeconfig (path, $KUBECONFIG,
// ~/.kube/config) and context, or the in-cluster configuration in a pod
// when there is no kubeconfig. cfg, when not nil, is used as is (tests).
func Connect(kubeconfig, kubecontext string, cfg *rest.Config) (*Clients, error) {
	where := ""
	if cfg == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = kubeconfig
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubecontext})
		c, err := cc.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("no usable Kubernetes configuration (not in a pod, and no kubeconfig; pass --kubeconfig): %w", err)
		}
		cfg = c
		where = "API server " + cfg.Host
	} else {
		cfg = rest.CopyConfig(cfg)
		where = "API server " + cfg.Host
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "config-editor-webhook"
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Dynamic: dyn, Where: where}, nil
}

// SecretGetter returns a bounded Get of one Secret: the webhook never
// lists or watches Secrets (its ClusterRole grants get only), so it holds
// no copy of the cluster's Secrets; a QuayRegistry switching its
// configBundleSecret is rare, and costs one Get.
func (c *Clients) SecretGetter(timeout time.Duration) SecretGetter {
	return func(ctx context.Context, namespace, name string) (*operator.Secret, error) {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		return operator.GetSecret(ctx, c.Dynamic, namespace, name)
	}
}
