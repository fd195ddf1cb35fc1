using Akka.Configuration.Hocon;

namespace Agent.Tests.Settings;

/// <summary>Two HOCON trees alike element by element: literals, objects (keys in order) and lists.</summary>
public static class HoconTrees
{
    public static void AssertSame(HoconValue expected, HoconValue actual, string path = "")
    {
        Assert.True(expected.Values.Count == actual.Values.Count,
            $"at '{path}': {expected.Values.Count} elements expected, {actual.Values.Count} found");
        for (var i = 0; i < expected.Values.Count; i++)
        {
            var (e, a) = (expected.Values[i], actual.Values[i]);
            Assert.True(e.GetType() == a.GetType(), $"at '{path}'[{i}]: {e.GetType().Name} expected, {a.GetType().Name} found");
            switch (e)
            {
                case HoconLiteral literal:
                    Assert.True(literal.Value == ((HoconLiteral)a).Value, $"at '{path}'[{i}]: '{literal.Value}' expected, '{((HoconLiteral)a).Value}' found");
                    break;
                case HoconObject members:
                    var other = (HoconObject)a;
                    Assert.Equal(members.Items.Keys.ToArray(), other.Items.Keys.ToArray());
                    foreach (var (key, value) in members.Items) AssertSame(value, other.Items[key], $"{path}.{key}");
                    break;
                case HoconArray list:
                    var otherList = (HoconArray)a;
                    Assert.Equal(list.Count, otherList.Count);
                    for (var j = 0; j < list.Count; j++) AssertSame(list[j], otherList[j], $"{path}[{j}]");
                    break;
                default:
                    throw new InvalidOperationException($"at '{path}': unexpected element {e.GetType().Name}");
            }
        }
    }
}
