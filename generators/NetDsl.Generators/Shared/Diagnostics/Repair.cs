using System.Collections.Generic;
using System.Text;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Diagnostics;

/// <summary>What a repair does; also the key under which the analyzer hands it to the code fixes.</summary>
internal enum RepairKind
{
    /// <summary>Padding that keeps the size ("same"), on NDSL0201/0202.</summary>
    SamePadding,
    /// <summary>The stride nearest the written one with no row dropped, on NDSL0202.</summary>
    Stride,
    /// <summary>The padding nearest the written one with no row dropped, on NDSL0202.</summary>
    Padding,
    /// <summary>A name no other layer uses, on NDSL0102.</summary>
    UniqueName,
    /// <summary>A strided 1×1 convolution (and its name) inserted on the skip path of an Add, on NDSL0104.</summary>
    InsertProjection,
}

/// <summary>One argument to set (or, with a null expression, to remove) on the attribute a diagnostic sits on.</summary>
internal sealed record ArgumentEdit(string Name, string? Expression);

/// <summary>
/// A repair the shape inference can vouch for. The code fixes apply it as it is and never recompute shapes, so they
/// cannot disagree with the diagnostics. <see cref="Edits"/> set or remove arguments of the attribute the diagnostic sits
/// on; <see cref="InsertBefore"/> is a whole attribute inserted before it (source text, e.g.
/// <c>Conv2D(8, 1, Stride = 2, Bias = false, From = "stem", Name = "stem_proj")</c>); <see cref="ReplaceWith"/> replaces
/// that attribute entirely (e.g. <c>Add("main", "stem_proj")</c>).
/// </summary>
internal sealed record Repair(RepairKind Kind, EquatableArray<ArgumentEdit> Edits, string? InsertBefore = null, string? ReplaceWith = null)
{
    /// <summary>Separates the parts of a serialized repair; it cannot occur in attribute source text.</summary>
    private const char PartSeparator = '\u001F';

    public static Repair Of(RepairKind kind, params ArgumentEdit[] edits) => new(kind, new EquatableArray<ArgumentEdit>(edits));

    /// <summary>The diagnostic property key of this kind.</summary>
    public static string Key(RepairKind kind) => kind.ToString();

    /// <summary>"A=1;B=;C=\"x\"" (the edits; an empty value removes that argument), then the inserted and the replacing
    /// attribute when there are any: a diagnostic property value.</summary>
    public string Serialize()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Edits.Count; i++)
        {
            if (i > 0) sb.Append(';');
            sb.Append(Edits[i].Name).Append('=').Append(Edits[i].Expression ?? "");
        }
        if (InsertBefore is not null || ReplaceWith is not null)
            sb.Append(PartSeparator).Append(InsertBefore ?? "").Append(PartSeparator).Append(ReplaceWith ?? "");
        return sb.ToString();
    }

    public static Repair Parse(RepairKind kind, string text)
    {
        var parts = text.Split(PartSeparator);
        var edits = new List<ArgumentEdit>();
        foreach (var part in SplitTopLevel(parts[0]))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) continue;
            string value = part.Substring(eq + 1);
            edits.Add(new ArgumentEdit(part.Substring(0, eq), value.Length == 0 ? null : value));
        }
        string? insert = parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null;
        string? replace = parts.Length > 2 && parts[2].Length > 0 ? parts[2] : null;
        return new Repair(kind, edits.ToEquatableArray(), insert, replace);
    }

    /// <summary>Splits on ';' outside string literals.</summary>
    private static IEnumerable<string> SplitTopLevel(string text)
    {
        int start = 0;
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '"') quoted = !quoted;
            else if (text[i] == ';' && !quoted) { yield return text.Substring(start, i - start); start = i + 1; }
        }
        if (start < text.Length) yield return text.Substring(start);
    }

    /// <summary>"Padding = 2, Stride = 1" for a code action's title (removals are not listed).</summary>
    public string Describe()
    {
        var parts = new List<string>();
        foreach (var e in Edits) if (e.Expression is not null) parts.Add($"{e.Name} = {e.Expression}");
        return string.Join(", ", parts);
    }
}
