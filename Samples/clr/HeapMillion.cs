// HeapMillion.cs - dumpdbg benchmark sample: a GC heap with more than a million small objects.
//
// Build: mcs -debug -out:app.exe HeapMillion.cs     Run: dotnet app.exe crash
// (Samples/make-clr-dumps.sh does both through ../shared/labs/make-clr-dumps.sh; linux-3.1 only.)
//
// Allocates, all reachable from static fields of Bench.Roots:
//   600,000 Bench.Item   {Tag (string, shared), Value long = i, Id int = i}         in Bench.Item[600000]
//   300,000 Bench.Pair   {Left Bench.Item = items[2i], Right = items[2i+1], Weight double = i*0.5}
//                                                                                  in Bench.Pair[300000]
//   150,000 Bench.Node   {Next Bench.Node, Index int}: a singly linked list, head in Roots.Head,
//                        Index 0 at the head .. 149999 at the tail
//   1,000   Bench.Bucket {Data byte[64] (1,000 byte[64], byte k = (i + k) & 0xff), Index int}
//                                                                                  in Bench.Bucket[1000]
// = 1,051,000 objects of the Bench.* types (+ 1,000 byte[64] + 4 root arrays), then the main
// thread throws an unhandled System.InvalidOperationException("HeapMillion: heap is ready") so
// createdump writes a dump with heap. No garbage of its own: every Bench.* object is live.
// Facts are printed as "FACT key=value" lines.
using System;
using System.Runtime.CompilerServices;

namespace Bench
{
    public class Item { public string Tag; public long Value; public int Id; }
    public class Pair { public Item Left; public Item Right; public double Weight; }
    public class Node { public Node Next; public int Index; }
    public class Bucket { public byte[] Data; public int Index; }

    public static class Roots
    {
        // HEAP_SCALE=k multiplies the Item, Pair and Node counts by k (k = 45 gives a heap over 2 GiB, the
        // HeapBig sample of Samples/make-clr-dumps.sh); the facts below print the counts used.
        public static readonly int Scale = ScaleFromEnvironment();
        public static readonly int ItemCount = 600000 * Scale, PairCount = 300000 * Scale, NodeCount = 150000 * Scale;
        public const int BucketCount = 1000, BucketBytes = 64;
        static int ScaleFromEnvironment()
        {
            int k;
            return int.TryParse(Environment.GetEnvironmentVariable("HEAP_SCALE"), out k) && k > 0 && k <= 100 ? k : 1;
        }
        public static Item[] Items;
        public static Pair[] Pairs;
        public static Node Head;
        public static Bucket[] Buckets;
        public static readonly string[] Tags = { "alpha", "beta", "gamma", "delta" };
    }

    public static class Program
    {
        static void Fact(string key, object value) { Console.WriteLine("FACT " + key + "=" + value); }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void Allocate()
        {
            Roots.Items = new Item[Roots.ItemCount];
            for (int i = 0; i < Roots.ItemCount; i++)
                Roots.Items[i] = new Item { Tag = Roots.Tags[i % 4], Value = i, Id = i };
            Roots.Pairs = new Pair[Roots.PairCount];
            for (int i = 0; i < Roots.PairCount; i++)
                Roots.Pairs[i] = new Pair { Left = Roots.Items[2 * i], Right = Roots.Items[2 * i + 1], Weight = i * 0.5 };
            Node head = null;
            for (int i = Roots.NodeCount - 1; i >= 0; i--) head = new Node { Next = head, Index = i };
            Roots.Head = head;
            Roots.Buckets = new Bucket[Roots.BucketCount];
            for (int i = 0; i < Roots.BucketCount; i++)
            {
                var b = new Bucket { Data = new byte[Roots.BucketBytes], Index = i };
                for (int k = 0; k < Roots.BucketBytes; k++) b.Data[k] = (byte)((i + k) & 0xff);
                Roots.Buckets[i] = b;
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void Crash()
        {
            throw new InvalidOperationException("HeapMillion: heap is ready");
        }

        public static int Main(string[] args)
        {
            Fact("program", "HeapMillion");
            Fact("mode", args.Length > 0 ? args[0] : "crash");
            if (Roots.Scale != 1) Fact("heap_scale", Roots.Scale);
            Fact("pid", System.Diagnostics.Process.GetCurrentProcess().Id);
            Fact("clr_version", Environment.Version);
            Allocate();
            Fact("type.Bench.Item.count", Roots.ItemCount);
            Fact("type.Bench.Pair.count", Roots.PairCount);
            Fact("type.Bench.Node.count", Roots.NodeCount);
            Fact("type.Bench.Bucket.count", Roots.BucketCount);
            Fact("type.Bench.total", Roots.ItemCount + Roots.PairCount + Roots.NodeCount + Roots.BucketCount);
            Fact("type.Bench.Item[].count", 1);
            Fact("type.Bench.Item[].length", Roots.ItemCount);
            Fact("type.Bench.Pair[].count", 1);
            Fact("type.Bench.Pair[].length", Roots.PairCount);
            Fact("type.Bench.Bucket[].count", 1);
            Fact("type.Bench.Bucket[].length", Roots.BucketCount);
            Fact("type.System.Byte[].from_buckets", Roots.BucketCount + " arrays of " + Roots.BucketBytes + " bytes");
            Fact("rule.Bench.Item[i]", "Tag=Tags[i%4] (alpha,beta,gamma,delta) Value=i Id=i");
            Fact("rule.Bench.Pair[i]", "Left=Items[2i] Right=Items[2i+1] Weight=i*0.5");
            Fact("rule.Bench.Node", "linked list from Roots.Head, Index=0.." + (Roots.NodeCount - 1) + ", tail.Next=null");
            Fact("rule.Bench.Bucket[i]", "Index=i Data=byte[64] with Data[k]=(i+k)&0xff");
            long n = 0; for (Node x = Roots.Head; x != null; x = x.Next) n++;
            Fact("check.list_length", n);
            Fact("exception.type", "System.InvalidOperationException");
            Fact("exception.message", "HeapMillion: heap is ready");
            Fact("exception.thrown_in", "Bench.Program.Crash()");
            Fact("exception.thread", "main");
            Console.Out.Flush();
            Crash();
            GC.KeepAlive(Roots.Items);
            return 0;
        }
    }
}
